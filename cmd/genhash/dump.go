package main

import (
	"crypto/md5"
	"fmt"
	"io"
	"strings"

	"github.com/lbd-project/lbd/healthcheck"
)

// The section titles of keepalived's genhash -v output.
const (
	titleHeaderHex   = "-----------------------[    HTTP Header Buffer    ]-----------------------\n"
	titleHeaderASCII = "-----------------------[ HTTP Header Ascii Buffer ]-----------------------\n"
	titleBody        = "-----------------------[        HTML Buffer        ]-----------------------\n"
	titleHash        = "-----------------------[    HTML hash resulting    ]-----------------------\n"
	titleHashFinal   = "-----------------------[ HTML hash final resulting ]-----------------------\n"
)

// dumper writes the verbose output as the response streams in. keepalived
// dumps each read(2) separately, with offsets restarting at 0, and prints
// the body title only when body bytes came with the header; lbd prints the
// title with the first body chunk and dumps in the chunks its reader uses.
// For a reply that arrives in one segment the output is identical.
type dumper struct {
	w        io.Writer
	bodySeen bool
}

func (d *dumper) trace() *healthcheck.Trace {
	return &healthcheck.Trace{
		Header: func(raw []byte) {
			d.headerTitle()
			hexdump(d.w, raw)
			io.WriteString(d.w, titleHeaderASCII)
			d.w.Write(raw)
			io.WriteString(d.w, "\n")
		},
		Body: func(chunk []byte) {
			if !d.bodySeen {
				d.bodySeen = true
				io.WriteString(d.w, titleBody)
			}
			hexdump(d.w, chunk)
		},
	}
}

func (d *dumper) headerTitle() { io.WriteString(d.w, titleHeaderHex) }

// digest prints the hash sections that precede the final digest line.
func (d *dumper) digest(sum []byte) {
	io.WriteString(d.w, "\n"+titleHash)
	hexdump(d.w, sum)
	io.WriteString(d.w, titleHashFinal)
}

// emptyDigest is what keepalived prints when no header arrived: the hash
// of nothing, then no digest line.
func (d *dumper) emptyDigest() {
	sum := md5.Sum(nil)
	d.digest(sum[:])
}

// hexdump writes b in keepalived's dump_buffer layout: decimal offset, two
// groups of eight hex bytes split by "- ", then the printable characters.
func hexdump(w io.Writer, b []byte) {
	var sb strings.Builder
	for off := 0; off < len(b); off += 16 {
		line := b[off:min(off+16, len(b))]
		fmt.Fprintf(&sb, "%04d  ", off)
		for i := range 16 {
			if i == 8 {
				sb.WriteString("- ")
			}
			if i < len(line) {
				fmt.Fprintf(&sb, "%02x ", line[i])
			} else {
				sb.WriteString("   ")
			}
		}
		sb.WriteString("  ")
		for i := range 16 {
			switch {
			case i >= len(line):
				sb.WriteByte(' ')
			case line[i] >= 0x20 && line[i] < 0x7f:
				sb.WriteByte(line[i])
			default:
				sb.WriteByte('.')
			}
		}
		sb.WriteByte('\n')
	}
	io.WriteString(w, sb.String())
}
