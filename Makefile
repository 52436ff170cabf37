# lbd — see README.md. Every target that needs system packages installs them
# itself (Debian, as root), idempotently and quietly.

GO        ?= go
PREFIX    ?= /usr/local
BUILD     := build
VMDIR     := $(BUILD)/vm
GOTEST    := $(GO) test -count=1 -timeout 30m
# keepalived: interop peer, genhash and checker reference; gcc builds the
# benchmark's IPVS stub for keepalived's checker on a host without IPVS;
# nftables cuts VRRP between balancers for the partition tests; bird2 is
# the router the BGP, BFD and active/active labs announce to (its
# kernel protocol builds the ECMP routes they check).
# lintian and man-db check the Debian package (make deb, built with dpkg's
# dpkg-deb). chromium (headless) loads the status page in its lab test;
# fonts-dejavu-core gives its screenshot text to draw with.
APT_PKGS  := qemu-system-x86 busybox-static cpio kmod ipvsadm xz-utils iproute2 \
             keepalived gcc libc6-dev systemd nftables bird2 lintian man-db chromium fonts-dejavu-core
# VERSION is git's, in a form dpkg accepts (packaging/deb/version.sh);
# the commands print it with --version.
VERSION   := $(shell sh packaging/deb/version.sh 2>/dev/null || echo 0.0~nogit)
LDFLAGS   := -X github.com/lbd-project/lbd/internal/version.Version=$(VERSION)
DEB       := $(BUILD)/lbd_$(VERSION)_$(shell dpkg --print-architecture 2>/dev/null || $(GO) env GOARCH).deb

export LBD_VM_DIR := $(abspath $(VMDIR))

.PHONY: all build deb test promtool unit bench bench-ipvs bench-healthcheck bench-engine bench-failover bench-halab bench-handover bench-scaleout demo screenshot install lint deps vm clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BUILD)/bin/ ./cmd/...

# deb builds build/lbd_VERSION_ARCH.deb with dpkg-deb (packaging/deb):
# lbd and ipvsctl in /usr/sbin, genhash as /usr/bin/lbd-genhash (beside
# keepalived's genhash), lbd.service, /etc/lbd/lbd.yaml as a conffile,
# manual pages made from the commands' --help. Its binaries are stripped
# and hardened (PIE, full RELRO), as Debian policy wants; linking them needs
# gcc, and build.sh checks the hardening with binutils' objdump, so deb
# installs those itself (dpkg-deb is in dpkg, always there).
DEB_PKGS  := gcc libc6-dev binutils
deb:
	$(call apt_install,deb,$(DEB_PKGS))
	$(GO) build -trimpath -buildmode=pie -ldflags '-s -w -linkmode=external -extldflags=-Wl,-z,relro,-z,now $(LDFLAGS)' -o $(BUILD)/deb-bin/ ./cmd/...
	@rm -f $(BUILD)/lbd_*.deb
	@GO=$(GO) sh packaging/deb/build.sh $(VERSION) $(BUILD)/deb-bin $(DEB)

# apt_install installs the Debian packages of its argument that are
# missing (as root), quietly; $(call apt_install,TARGET,PACKAGES).
define apt_install
	@missing=$$(for p in $(2); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		[ "$$(id -u)" = 0 ] || { echo "make $(1): need root to install:$$missing" >&2; exit 1; }; \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

# deps installs the Debian packages the lab needs (only the missing ones)
# and downloads the Go modules.
deps:
	$(call apt_install,deps,$(APT_PKGS))
	@$(GO) mod download

# vm builds the lab VM's kernel and base initramfs from Debian packages.
vm: deps
	@bash internal/lab/vmassets.sh $(VMDIR)

# test runs every test: unit, network-namespace lab and VM lab. Lab tests
# fail instead of skipping here, so nothing is silently left out.
# The HA demo and its planned-handover test (internal/demo) run last and
# alone: they measure failover timings, which a second VM on the same two
# cores would distort.
# promtool checks docs/monitoring's alerting rules. It is unpacked from
# Debian's prometheus package into build/tools, not installed: installing
# the package would start a Prometheus server on the machine.
TOOLS := $(abspath $(BUILD)/tools)
promtool: deps
	@[ -x $(TOOLS)/promtool ] || { rm -rf $(TOOLS)/pkg && mkdir -p $(TOOLS)/pkg && cd $(TOOLS)/pkg && \
		apt-get download -qq prometheus 2>/dev/null && dpkg-deb -x prometheus_*.deb . && cp usr/bin/promtool $(TOOLS)/promtool && \
		cd $(TOOLS) && rm -rf pkg; }

test: vm promtool
	PATH=$(TOOLS):$$PATH LBD_LAB_REQUIRED=1 $(GOTEST) $$($(GO) list ./... | grep -v /internal/demo$$)
	LBD_LAB_REQUIRED=1 $(GOTEST) ./internal/demo/

# unit runs the tests that need neither root nor the VM (lab tests skip).
unit:
	$(GOTEST) ./...

bench: bench-ipvs bench-failover bench-halab bench-handover bench-scaleout bench-healthcheck bench-engine

# Benchmarks log in full to build/bench-*.log and print their figures.
bench-ipvs: vm
	@mkdir -p $(BUILD); LBD_LAB_REQUIRED=1 LBD_BENCH=1 $(GOTEST) -run 'Bench' -v ./ipvs/ > $(BUILD)/bench-ipvs.log 2>&1; \
	rc=$$?; grep -E '^\s*(ipvs_bench|[a-z_]+=|--- |ok|FAIL)' $(BUILD)/bench-ipvs.log; exit $$rc

bench-healthcheck: deps
	@mkdir -p $(BUILD); LBD_BENCH=1 $(GOTEST) -run 'TestBenchHealthcheck' -v ./healthcheck/bench/ > $(BUILD)/bench-healthcheck.log 2>&1; \
	rc=$$?; grep -E '^\s*(healthcheck_bench|targets|lbd_|keepalived_|shared|server_|cpu_us|kernel_floor|--- |ok|FAIL)' $(BUILD)/bench-healthcheck.log; exit $$rc

bench-engine: deps
	@mkdir -p $(BUILD); LBD_BENCH=1 $(GOTEST) -run 'TestBenchEngine' -v ./lb/ > $(BUILD)/bench-engine.log 2>&1; \
	rc=$$?; grep -E '^\s*(engine_bench|--- |ok|FAIL)' $(BUILD)/bench-engine.log; exit $$rc

bench-failover: deps
	@mkdir -p $(BUILD); LBD_LAB_REQUIRED=1 LBD_BENCH=1 $(GOTEST) -run 'TestIntegrationBenchFailover$$$$' -v ./internal/daemon/ > $(BUILD)/bench-failover.log 2>&1; \
	rc=$$?; grep -E '^\s*(failover_|--- |ok|FAIL)' $(BUILD)/bench-failover.log; exit $$rc

# bench-handover: planned handovers under client load in the demo's DR lab,
# with mh and lvs_sloppy_tcp, with plain rr, and keepalived, in the same run.
bench-handover: vm
	@mkdir -p $(BUILD); LBD_LAB_REQUIRED=1 LBD_BENCH=1 $(GOTEST) -run '^TestPlannedHandovers$$' -v ./internal/demo/ > $(BUILD)/bench-handover.log 2>&1; \
	rc=$$?; grep -E '^\s*(handover_bench|--- |ok|FAIL)' $(BUILD)/bench-handover.log; exit $$rc

# bench-scaleout: three balancers announcing one VIP over BGP (with BFD)
# to BIRD, ECMP spreading the clients, a planned drain and a kill under
# load; and a VRRP pair's failover for the same kill, in the same run.
bench-scaleout: vm
	@mkdir -p $(BUILD); LBD_LAB_REQUIRED=1 LBD_BENCH=1 $(GOTEST) -run '^TestBenchScaleout$$' -v ./internal/scaleout/ > $(BUILD)/bench-scaleout.log 2>&1; \
	rc=$$?; grep -E '^\s*(scaleout_bench|--- |ok|FAIL)' $(BUILD)/bench-scaleout.log; exit $$rc

# bench-halab: a client load through the VIP of the two-balancer NAT lab
# in the VM while the master dies, lbd and keepalived in the same run.
bench-halab: vm
	@mkdir -p $(BUILD); LBD_LAB_REQUIRED=1 LBD_BENCH=1 $(GOTEST) -run '^TestBenchHALab$$' -v ./internal/halab/ > $(BUILD)/bench-halab.log 2>&1; \
	rc=$$?; grep -E '^\s*(halab_|--- |ok|FAIL)' $(BUILD)/bench-halab.log; exit $$rc

# screenshot refreshes docs/status-page.png: the status page's lab test
# loads lb1's page in headless Chromium and keeps its screenshot.
screenshot: vm
	LBD_LAB_REQUIRED=1 LBD_UPDATE_SCREENSHOT=1 $(GOTEST) -run '^TestIntegrationVMStatusPageInChromium$$' ./internal/statuspage/

# demo is the main job: the two-balancer HA lab in the VM, narrated. Its
# full log (lbd's included) is in build/demo.log.
demo: vm
	@mkdir -p $(BUILD); LBD_LAB_REQUIRED=1 $(GOTEST) -v -run '^TestDemo$$$$' ./internal/demo/ > $(BUILD)/demo.log 2>&1; \
	rc=$$?; sed -n 's/^ *demo| \{0,1\}//p' $(BUILD)/demo.log; \
	if [ $$rc -ne 0 ]; then grep -E '^\s*(--- FAIL|FAIL|.*_test.go:[0-9]+:)' $(BUILD)/demo.log | head -20; echo "demo FAILED (full log: $(BUILD)/demo.log)"; fi; \
	exit $$rc

# install puts lbd and ipvsctl in $(PREFIX)/sbin, genhash as
# $(PREFIX)/bin/lbd-genhash (keepalived has a genhash), the unit in
# /etc/systemd/system, and an annotated /etc/lbd/lbd.yaml unless one exists.
install: build
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/bin/lbd $(BUILD)/bin/ipvsctl $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(BUILD)/bin/genhash $(DESTDIR)$(PREFIX)/bin/lbd-genhash
	install -D -m 0644 systemd/lbd.service $(DESTDIR)/etc/systemd/system/lbd.service
	install -d -m 0755 $(DESTDIR)/etc/lbd
	[ -e $(DESTDIR)/etc/lbd/lbd.yaml ] || install -m 0644 systemd/lbd.yaml $(DESTDIR)/etc/lbd/lbd.yaml
	@if [ -z "$(DESTDIR)" ] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

# lint also vets for macOS so the code keeps building on laptops (the
# Linux-only parts are in *_linux.go files). vrrp, internal/daemon and
# cmd/lbd are left out until their rewrite builds there; then it is ./...
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	GOOS=freebsd $(GO) build ./...

clean:
	rm -rf $(BUILD)
