package conf

// TrackFileInit is a file lbd writes at start (init_file), from a VRRP
// instance's track_files or a FILE check.
type TrackFileInit struct {
	Path string
	InitFile
}

// TrackFileInits lists the files the configuration asks lbd to write at
// start, once per path (validation refuses two different requests for
// one path).
func (c *Config) TrackFileInits() []TrackFileInit {
	out, _ := c.trackFileInits()
	return out
}

// trackFileInits lists the init_file requests, once per path, and the
// positions of those that contradict an earlier one.
func (c *Config) trackFileInits() (list []TrackFileInit, conflicts []Pos) {
	seen := map[string]InitFile{}
	add := func(path string, in *InitFile) {
		if in == nil {
			return
		}
		if prev, ok := seen[path]; ok {
			if prev.Value != in.Value || prev.Overwrite != in.Overwrite {
				conflicts = append(conflicts, in.Pos)
			}
			return
		}
		seen[path] = *in
		list = append(list, TrackFileInit{Path: path, InitFile: *in})
	}
	for i := range c.VRRPInstances {
		for _, t := range c.VRRPInstances[i].TrackFiles {
			add(t.Path, t.InitFile)
		}
	}
	fileCheck := func(chk *Check) {
		if chk != nil && chk.Type == "FILE" {
			add(chk.TrackFile, chk.InitFile)
		}
	}
	// Every load and reload runs this over every real server: a large
	// file has 100,000, nearly all with just their service's check.
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			if len(rs.Checks) == 0 {
				fileCheck(vs.EffectiveCheck(rs))
				continue
			}
			for k := range rs.Checks {
				fileCheck(vs.mergedCheck(rs, &rs.Checks[k]))
			}
		}
	}
	return list, conflicts
}
