package ipvs

// Numbers of the kernel's IPVS generic netlink interface, from
// include/uapi/linux/ip_vs.h. They are part of the kernel ABI and never change.

const (
	familyName    = "IPVS"
	familyVersion = 1
)

// Commands (IPVS_CMD_*).
const (
	cmdNewService = 1
	cmdSetService = 2
	cmdDelService = 3
	cmdGetService = 4
	cmdNewDest    = 5
	cmdSetDest    = 6
	cmdDelDest    = 7
	cmdGetDest    = 8
	cmdNewDaemon  = 9
	cmdDelDaemon  = 10
	cmdGetDaemon  = 11
	cmdSetConfig  = 12
	cmdGetConfig  = 13
	cmdGetInfo    = 15
	cmdZero       = 16
	cmdFlush      = 17
)

// First-level attributes (IPVS_CMD_ATTR_*).
const (
	attrService       = 1
	attrDest          = 2
	attrDaemon        = 3
	attrTimeoutTCP    = 4
	attrTimeoutTCPFin = 5
	attrTimeoutUDP    = 6
)

// Service attributes (IPVS_SVC_ATTR_*).
const (
	svcAF        = 1
	svcProtocol  = 2
	svcAddr      = 3
	svcPort      = 4
	svcFWMark    = 5
	svcSchedName = 6
	svcFlags     = 7
	svcTimeout   = 8
	svcNetmask   = 9
	svcStats     = 10
	svcPEName    = 11
	svcStats64   = 12
)

// Destination attributes (IPVS_DEST_ATTR_*).
const (
	destAddr         = 1
	destPort         = 2
	destFwdMethod    = 3
	destWeight       = 4
	destUThresh      = 5
	destLThresh      = 6
	destActiveConns  = 7
	destInactConns   = 8
	destPersistConns = 9
	destStats        = 10
	destAddrFamily   = 11
	destStats64      = 12
	destTunType      = 13
	destTunPort      = 14
	destTunFlags     = 15
)

// Sync daemon attributes (IPVS_DAEMON_ATTR_*).
const (
	daemonState       = 1
	daemonMcastIfn    = 2
	daemonSyncID      = 3
	daemonSyncMaxLen  = 4
	daemonMcastGroup  = 5
	daemonMcastGroup6 = 6
	daemonMcastPort   = 7
	daemonMcastTTL    = 8
)

// Statistics attributes (IPVS_STATS_ATTR_*), inside STATS and STATS64.
const (
	statsConns    = 1
	statsInPkts   = 2
	statsOutPkts  = 3
	statsInBytes  = 4
	statsOutBytes = 5
	statsCPS      = 6
	statsInPPS    = 7
	statsOutPPS   = 8
	statsInBPS    = 9
	statsOutBPS   = 10
)

// Info attributes (IPVS_INFO_ATTR_*), top level in the GET_INFO reply.
const (
	infoVersion     = 1
	infoConnTabSize = 2
)

// Service flags (IP_VS_SVC_F_*).
const (
	svcFlagPersistent = 0x1
	svcFlagHashed     = 0x2 // kernel-internal; never compared or sent
	svcFlagOnePacket  = 0x4
	svcFlagSched1     = 0x8
	svcFlagSched2     = 0x10
	svcFlagSched3     = 0x20
)

// Limits from ip_vs.h: names are NUL-terminated in 16-byte buffers.
const (
	schedNameMaxLen = 15
	peNameMaxLen    = 15
	ifNameMaxLen    = 15
)

// defaultPersistTimeout is ipvsadm's (and keepalived's) persistence timeout in seconds when -p
// is given without a value.
const defaultPersistTimeout = 360
