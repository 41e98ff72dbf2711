// Package all links every portal adapter into a binary; each registers
// itself with the channels registry in init.
package all

import (
	_ "github.com/dargah137/dargah/channels/asterisk"
	_ "github.com/dargah137/dargah/channels/desk"
	_ "github.com/dargah137/dargah/channels/email"
	_ "github.com/dargah137/dargah/channels/sms"
	_ "github.com/dargah137/dargah/channels/telegram"
	_ "github.com/dargah137/dargah/channels/webform"
)
