package conf

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// Load reads, decodes, defaults and validates the configuration file at
// path. On any problem it returns an ErrorList naming every one with its
// file:line:col, and no Config.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("conf: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load for data already read; name is used in error positions.
func Parse(name string, data []byte) (*Config, error) {
	cfg, _, err := decodeFile(name, data)
	if err != nil {
		return nil, err
	}
	cfg.applyDefaults()
	return finish(name, cfg)
}

// decodeFile decodes data, one YAML document, into a Config without
// defaults, and returns the document's root node too.
func decodeFile(name string, data []byte) (*Config, *yaml.Node, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, ErrorList{syntaxError(name, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, nil, ErrorList{{Pos: Pos{File: name, Line: extra.Line, Col: extra.Column},
			Msg: "more than one YAML document; lbd reads one"}}
	}
	cfg := &Config{}
	d := &decoder{file: name, root: &root}
	d.decode(&root, reflect.ValueOf(cfg).Elem())
	if err := d.errs.err(); err != nil {
		return nil, nil, err
	}
	return cfg, &root, nil
}

// finish validates a decoded and defaulted configuration.
func finish(name string, cfg *Config) (*Config, error) {
	cfg.Global.Pos.File = name // an empty file has no mapping to take it from
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// syntaxError turns yaml/v3's syntax error ("yaml: line 3: ...") into an
// Error with our position format. yaml/v3 reports no column for these.
func syntaxError(name string, err error) *Error {
	var line int
	msg := err.Error()
	if _, scanErr := fmt.Sscanf(msg, "yaml: line %d:", &line); scanErr == nil {
		msg = yamlMessage(err)
		if i := bytes.IndexByte([]byte(msg), ':'); i >= 0 && bytes.HasPrefix([]byte(msg), []byte("line ")) {
			msg = msg[i+2:]
		}
	}
	return &Error{Pos: Pos{File: name, Line: line, Col: 1}, Msg: "YAML syntax: " + msg}
}

// applyDefaults fills what the file left out with the documented defaults.
func (c *Config) applyDefaults() {
	g := &c.Global
	if g.RouterID == "" {
		g.RouterID, _ = os.Hostname()
	}
	if g.NotifyTimeout == 0 {
		g.NotifyTimeout = Duration(DefaultNotifyTimeout)
	}
	if g.ControlSocket == "" {
		g.ControlSocket = DefaultControlSocket
	}
	if g.StateDir == "" {
		g.StateDir = DefaultStateDir
	}
	if g.MetricsAddress == nil {
		g.MetricsAddress = ptr(DefaultMetricsAddress)
	}
	v := &g.VRRP
	if v.Version == 0 {
		v.Version = DefaultVRRPVersion
	}
	if v.AdvertInterval == 0 {
		v.AdvertInterval = Duration(DefaultAdvertInterval)
	}
	if v.GARPMasterDelay == nil {
		v.GARPMasterDelay = ptr(Duration(DefaultGARPMasterDelay))
	}
	if v.GARPMasterRepeat == 0 {
		v.GARPMasterRepeat = DefaultGARPMasterRepeat
	}
	if v.GARPMasterRefresh == nil {
		v.GARPMasterRefresh = ptr(Duration(DefaultGARPRefresh))
	}
	v.GARPMasterRefreshRepeat = cmp.Or(v.GARPMasterRefreshRepeat, DefaultGARPRefreshRep)
	if v.FastTakeoverInterval == nil {
		v.FastTakeoverInterval = ptr(Duration(DefaultFastTakeover))
	}
	if v.FastTakeoverMisses == 0 {
		v.FastTakeoverMisses = DefaultFastTakeoverMiss
	}
	v.FastTakeover = cmp.Or(v.FastTakeover, DefaultFastTakeoverMode)
	v.FastTakeoverBFDInterval = cmp.Or(v.FastTakeoverBFDInterval, Duration(DefaultBFDInterval))
	v.FastTakeoverBFDMultiplier = cmp.Or(v.FastTakeoverBFDMultiplier, DefaultBFDMultiplier)
	c.applyLBDefaults()
	if c.BGP != nil {
		c.BGP.applyDefaults()
	}
	for i := range c.VRRPScripts {
		s := &c.VRRPScripts[i]
		if s.Interval == 0 {
			s.Interval = Duration(DefaultScriptInterval)
		}
		if s.Timeout == 0 {
			s.Timeout = s.Interval
		}
		s.Rise, s.Fall = max(s.Rise, 1), max(s.Fall, 1)
		s.User = cmp.Or(s.User, g.ScriptUser)
	}
	for i := range c.VRRPInstances {
		in := &c.VRRPInstances[i]
		if in.Priority == 0 {
			in.Priority = DefaultPriority
		}
		if in.Version == 0 {
			in.Version = v.Version
		}
		if in.AdvertInterval == 0 {
			in.AdvertInterval = v.AdvertInterval
		}
		if in.GARPMasterDelay == nil {
			in.GARPMasterDelay = v.GARPMasterDelay
		}
		if in.GARPMasterRepeat == 0 {
			in.GARPMasterRepeat = v.GARPMasterRepeat
		}
		if in.GARPMasterRefresh == nil {
			in.GARPMasterRefresh = v.GARPMasterRefresh
		}
		in.GARPMasterRefreshRepeat = cmp.Or(in.GARPMasterRefreshRepeat, v.GARPMasterRefreshRepeat)
		// The answer to a lower-priority master follows the instance's
		// own garp_master_* unless set (keepalived's defaults).
		if in.GARPLowerPrioDelay == nil {
			in.GARPLowerPrioDelay = cmp.Or(v.GARPLowerPrioDelay, in.GARPMasterDelay)
		}
		in.GARPLowerPrioRepeat = cmp.Or(in.GARPLowerPrioRepeat, v.GARPLowerPrioRepeat, in.GARPMasterRepeat)
		if in.GARPInterval == nil {
			in.GARPInterval = &v.GARPInterval
		}
		if in.GNAInterval == nil {
			in.GNAInterval = &v.GNAInterval
		}
		if in.FastTakeoverInterval == nil {
			in.FastTakeoverInterval = v.FastTakeoverInterval
		}
		if in.FastTakeoverMisses == 0 {
			in.FastTakeoverMisses = v.FastTakeoverMisses
		}
		in.FastTakeover = cmp.Or(in.FastTakeover, v.FastTakeover)
		in.FastTakeoverBFDInterval = cmp.Or(in.FastTakeoverBFDInterval, v.FastTakeoverBFDInterval)
		in.FastTakeoverBFDMultiplier = cmp.Or(in.FastTakeoverBFDMultiplier, v.FastTakeoverBFDMultiplier)
		if in.Accept == nil {
			in.Accept = ptr(true)
		}
		if in.UseVMAC && in.VMACName == "" {
			v6 := len(in.VirtualIPAddresses) > 0 && in.VirtualIPAddresses[0].Address.Addr().Is6()
			in.VMACName = DefaultVMACName(in.VirtualRouterID, v6)
		}
		for j := range in.VirtualIPAddresses {
			if in.VirtualIPAddresses[j].Interface == "" {
				in.VirtualIPAddresses[j].Interface = in.Interface
			}
		}
		for j := range in.VirtualIPAddressesExcluded {
			if in.VirtualIPAddressesExcluded[j].Interface == "" {
				in.VirtualIPAddressesExcluded[j].Interface = in.Interface
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }
