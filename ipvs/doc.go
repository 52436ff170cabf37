// Package ipvs is a client of the Linux kernel's IP Virtual Server (IPVS)
// over its generic netlink family "IPVS" (include/uapi/linux/ip_vs.h).
//
// It covers what ipvsadm does: virtual services (TCP, UDP, SCTP and
// firewall-mark services, IPv4 and IPv6, persistence, schedulers and their
// flags, one-packet scheduling, persistence engines), destinations (NAT,
// direct routing, tunnelling with IPIP, GUE or GRE encapsulation, weights and
// connection thresholds), 64-bit statistics, protocol timeouts and the
// connection synchronisation daemons.
//
// The package is built for reconciliation rather than imperative edits:
//
//	current, _ := c.Dump(ctx)           // read the kernel table once
//	plan := ipvs.Diff(desired, current) // pure: adds, edits, deletes
//	res, err := c.Apply(ctx, plan)      // pipelined, one ack per change
//
// Diff touches only what differs, so applying the same desired table twice
// sends nothing the second time, and a restarted daemon adopts the table the
// kernel already has without dropping traffic. Apply writes many requests
// per sendmsg and matches every kernel acknowledgement to its change by
// netlink sequence number, so a failure is reported against the change that
// caused it while the rest of the plan still goes through.
//
// Values are validated before any message is built (Service.Validate,
// Destination.Validate), and decoding of kernel messages never panics on
// malformed input; it returns an error instead.
//
// Errors from the kernel are returned as *OpError values naming the
// operation and the object, and wrap the errno so errors.Is(err,
// unix.EEXIST) and errors.Is(err, os.ErrExist) both work.
package ipvs
