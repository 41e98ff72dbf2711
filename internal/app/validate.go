package app

import (
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
	if _, err := loadRules(cfg.Routing); err != nil {
		return 0, err
	}
	portals, err := channels.DecodePortals(cfg.File, &cfg.Portals)
	if err != nil {
		return 0, err
	}
	return len(portals), nil
}
