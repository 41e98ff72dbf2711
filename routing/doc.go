// Package routing decides what happens to a citizen's message: add it to
// the open case of its conversation, answer a case-status question, answer
// a frequently asked question, or open a case under a service code.
//
// The rules (services and their keywords, FAQ answers, reply templates)
// come from a YAML file, configs/routing.yaml, read by LoadRules or
// ParseRules. Router.Decide applies them in a fixed order (see Router) and
// names the rule behind every decision. Matching runs on Persian-normalized
// text (Normalize), so the many ways citizens spell the same word (Arabic or
// Persian yeh and kaf, Persian or ASCII digits, half-spaces) match alike.
package routing
