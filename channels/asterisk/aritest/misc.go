package aritest

import (
	"net/http"
	"slices"
	"sort"
	"strings"
)

var miscHandlers = map[string]func(*call) int{
	"asterisk.ping": func(c *call) int {
		return c.ok(map[string]string{"asterisk_id": c.s.cfg.AsteriskID, "ping": "pong", "timestamp": c.s.stamp()})
	},
	"asterisk.getInfo":      hInfo,
	"asterisk.getGlobalVar": hGetGlobal,
	"asterisk.setGlobalVar": func(c *call) int {
		c.s.globals[c.param("variable")] = c.param("value")
		c.s.emit(c.s.cfg.App, "ChannelVarset", "", map[string]any{"variable": c.param("variable"), "value": c.param("value")})
		return c.noContent()
	},
	"applications.list":        hAppList,
	"applications.get":         hAppGet,
	"applications.subscribe":   hSubscribe,
	"applications.unsubscribe": hUnsubscribe,
}

func hInfo(c *call) int {
	all := map[string]any{
		"build": map[string]any{"os": "Linux", "kernel": "6.1.0", "options": "", "machine": "x86_64",
			"date": "2026-01-01 00:00:00 UTC", "user": "aritest"},
		"system": map[string]any{"version": "22.10.1", "entity_id": c.s.cfg.AsteriskID},
		"config": map[string]any{"name": "aritest", "default_language": c.s.cfg.Language, "max_channels": 0,
			"setid": map[string]any{"user": "asterisk", "group": "asterisk"}},
		"status": map[string]any{"startup_time": c.s.stamp(), "last_reload_time": c.s.stamp()},
	}
	only := c.list("only")
	if len(only) == 0 {
		return c.ok(all)
	}
	out := map[string]any{}
	for _, k := range only {
		out[k] = all[k]
	}
	return c.ok(out)
}

func hGetGlobal(c *call) int {
	v, ok := c.s.globals[c.param("variable")]
	if !ok {
		return c.fail(http.StatusNotFound, "Provided variable was not found")
	}
	return c.ok(map[string]string{"value": v})
}

// appNames are the apps with a socket now (what Asterisk lists).
func (s *Server) appNames() []string {
	var out []string
	for _, c := range s.conns {
		for _, a := range c.apps {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (s *Server) appWire(app string) map[string]any {
	chans, bridges, endpoints, devices := []string{}, []string{}, []string{}, []string{}
	for _, id := range s.order {
		if ch := s.channels[id]; ch.app == app {
			chans = append(chans, id)
		}
	}
	for _, id := range s.bridgeOrder {
		if s.bridges[id].app == app {
			bridges = append(bridges, id)
		}
	}
	for _, src := range s.subs[app] {
		kind, id, _ := strings.Cut(src, ":")
		switch kind {
		case "channel":
			if !slices.Contains(chans, id) {
				chans = append(chans, id)
			}
		case "bridge":
			if !slices.Contains(bridges, id) {
				bridges = append(bridges, id)
			}
		case "endpoint":
			endpoints = append(endpoints, id)
		case "deviceState":
			devices = append(devices, id)
		}
	}
	return map[string]any{"name": app, "channel_ids": chans, "bridge_ids": bridges, "endpoint_ids": endpoints,
		"device_names": devices, "events_allowed": []any{}, "events_disallowed": []any{}}
}

func hAppList(c *call) int {
	out := []map[string]any{}
	for _, a := range c.s.appNames() {
		out = append(out, c.s.appWire(a))
	}
	return c.ok(out)
}

func hAppGet(c *call) int {
	app := c.path("applicationName")
	if !c.s.registered(app) {
		return c.fail(http.StatusNotFound, "Application not found")
	}
	return c.ok(c.s.appWire(app))
}

func (c *call) checkSources() ([]string, int) {
	srcs := c.list("eventSource")
	for _, src := range srcs {
		kind, id, ok := strings.Cut(src, ":")
		if !ok {
			return nil, c.fail(http.StatusBadRequest, "Invalid event source URI scheme")
		}
		switch kind {
		case "channel":
			if c.s.channels[id] == nil {
				return nil, c.fail(http.StatusUnprocessableEntity, "Event source does not exist")
			}
		case "bridge":
			if c.s.bridges[id] == nil {
				return nil, c.fail(http.StatusUnprocessableEntity, "Event source does not exist")
			}
		case "endpoint", "deviceState":
		default:
			return nil, c.fail(http.StatusBadRequest, "Invalid event source URI scheme")
		}
	}
	return srcs, 0
}

func hSubscribe(c *call) int {
	app := c.path("applicationName")
	if !c.s.registered(app) {
		return c.fail(http.StatusNotFound, "Application not found")
	}
	srcs, status := c.checkSources()
	if srcs == nil {
		return status
	}
	for _, src := range srcs {
		if !slices.Contains(c.s.subs[app], src) {
			c.s.subs[app] = append(c.s.subs[app], src)
		}
	}
	return c.ok(c.s.appWire(app))
}

func hUnsubscribe(c *call) int {
	app := c.path("applicationName")
	if !c.s.registered(app) {
		return c.fail(http.StatusNotFound, "Application not found")
	}
	srcs, status := c.checkSources()
	if srcs == nil {
		return status
	}
	for _, src := range srcs {
		if !slices.Contains(c.s.subs[app], src) {
			return c.fail(http.StatusConflict, "Application not subscribed to event source")
		}
	}
	c.s.subs[app] = slices.DeleteFunc(c.s.subs[app], func(x string) bool { return slices.Contains(srcs, x) })
	return c.ok(c.s.appWire(app))
}
