package vrrpnet

import "github.com/lbd-project/lbd/vrrp"

// StaticSet is what Static keeps installed.
type StaticSet struct {
	Addrs  []vrrp.VIP
	Routes []vrrp.Route
	Rules  []vrrp.Rule
}
