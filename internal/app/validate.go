package app

import (
	"fmt"

	"github.com/dargah137/dargah/channels"
)

// Validate checks a whole config — defaults, environment references,
// routing rules and every portal's settings — without opening anything.
// It returns the number of portals.
func Validate(cfg Config) (int, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return 0, err
	}
	rules, err := loadRules(cfg.Routing)
	if err != nil {
		return 0, err
	}
	codes := make([]string, 0)
	for _, s := range rules.Services() {
		codes = append(codes, s.Code)
	}
	if _, _, err := loadProcessConfig(cfg, codes); err != nil {
		return 0, fmt.Errorf("%s: %w", cfg.File, err)
	}
	portals, err := channels.DecodePortals(cfg.File, &cfg.Portals)
	if err != nil {
		return 0, err
	}
	return len(portals), nil
}
