package discord

import (
	"strconv"
	"strings"
)

// How a posted alert says which delivery posted it. Discord does not return
// a message's nonce when the channel is read back, so Resolve recognises
// the messages it may have posted by an id they carry themselves (DESIGN §5
// "Exactly once"): in every button's custom_id, which readers never see,
// or, for a message left without buttons, at the end of its embed footer
// or as a last line of small text.
const (
	// deliveryButtonPrefix starts a custom_id that carries its delivery:
	// "d42:mute event:x 1d". It differs from buttonPrefix ("cmd:") in its
	// first byte, so neither form can be taken for the other.
	deliveryButtonPrefix = "d"
	// deliveryRefWord starts the visible reference, "delivery 42"; an
	// admin can look the number up in the store.
	deliveryRefWord = "delivery "
	// footerSep joins the reference to a footer, as MessageFor joins the
	// footer's own parts.
	footerSep = " · "
	// subtext starts a line of Discord's small grey text.
	subtext = "-# "
)

// buttonID is the custom_id of a button that runs command: with the
// delivery id when there is one (delivery > 0), else in the form older
// versions posted.
func buttonID(delivery int64, command string) string {
	if delivery <= 0 {
		return buttonPrefix + command
	}
	return deliveryButtonPrefix + strconv.FormatInt(delivery, 10) + ":" + command
}

// parseButtonID returns the command of a button's custom_id, in either
// form, and the delivery id when the custom_id carries one (else 0). ok is
// false for a custom_id that is neither form or has no command.
func parseButtonID(customID string) (command string, delivery int64, ok bool) {
	if cmd, found := strings.CutPrefix(customID, buttonPrefix); found {
		return cmd, 0, strings.TrimSpace(cmd) != ""
	}
	rest, found := strings.CutPrefix(customID, deliveryButtonPrefix)
	if !found {
		return "", 0, false
	}
	num, cmd, found := strings.Cut(rest, ":")
	if !found {
		return "", 0, false
	}
	d, ok := parseDeliveryID(num)
	if !ok || strings.TrimSpace(cmd) == "" {
		return "", 0, false
	}
	return cmd, d, true
}

// parseDeliveryID accepts only the decimal form buttonID and deliveryRef
// write (no sign, no leading zero), so one delivery has one spelling.
func parseDeliveryID(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	d, err := strconv.ParseInt(s, 10, 64)
	return d, err == nil && d > 0
}

// deliveryRef is the visible reference to a delivery, for a message whose
// buttons do not carry it.
func deliveryRef(delivery int64) string {
	return deliveryRefWord + strconv.FormatInt(delivery, 10)
}

// parseRef returns the delivery of a reference written by deliveryRef.
func parseRef(s string) (int64, bool) {
	num, ok := strings.CutPrefix(s, deliveryRefWord)
	if !ok {
		return 0, false
	}
	return parseDeliveryID(num)
}

// footerDelivery returns the delivery at the end of an embed footer: the
// whole footer, or its last part after footerSep.
func footerDelivery(footer string) (int64, bool) {
	if d, ok := parseRef(footer); ok {
		return d, true
	}
	i := strings.LastIndex(footer, footerSep)
	if i < 0 {
		return 0, false
	}
	return parseRef(footer[i+len(footerSep):])
}

// contentDelivery returns the delivery of a message's last line written as
// subtext, the form render gives a message of plain text.
func contentDelivery(content string) (int64, bool) {
	last := content[strings.LastIndexByte(content, '\n')+1:]
	ref, ok := strings.CutPrefix(last, subtext)
	if !ok {
		return 0, false
	}
	return parseRef(ref)
}
