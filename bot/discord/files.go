package discord

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/bwmarrin/discordgo"

	"github.com/policyteam/alertbot/bot"
)

// Limits of a file on a message.
// https://discord.com/developers/docs/reference#uploading-files
// https://discord.com/developers/docs/resources/message#attachment-object
const (
	// MaxFileBytes is the upload size every bot may send (10 MiB).
	MaxFileBytes = 10 << 20
	// MaxAttachmentDescription bounds an attachment's description, its
	// alt text.
	MaxAttachmentDescription = 1024
)

// errFileTooLarge is a file over MaxFileBytes, not sent.
var errFileTooLarge = errors.New("file too large for Discord")

// deferredMessage is the first answer to an interaction whose message
// follows: type 5, ephemeral unless public. The flags given here are the
// message's for good; an edit cannot change them.
func deferredMessage(public bool) *discordgo.InteractionResponse {
	d := &discordgo.InteractionResponseData{}
	if !public {
		d.Flags = flagEphemeral
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource, Data: d}
}

// fileEdit is the payload_json of an edit that carries files: discordgo's
// WebhookEdit has no attachment descriptions.
type fileEdit struct {
	Content         string                            `json:"content"`
	Components      []discordgo.MessageComponent      `json:"components"`
	Attachments     []attachmentRef                   `json:"attachments"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
}

// attachmentRef names the files[ID] part of the request.
type attachmentRef struct {
	ID          int    `json:"id"`
	Filename    string `json:"filename"`
	Description string `json:"description,omitempty"`
}

// editWithFile puts reply, with its file attached, on the deferred
// original response of in: PATCH /webhooks/{app}/{token}/messages/@original
// as multipart/form-data, with payload_json and files[0]. When Discord
// refuses it (or the file is too large), the reply's text goes out alone,
// saying why, so the caller is not left with "thinking…".
func (a *Adapter) editWithFile(ctx context.Context, in *discordgo.Interaction, reply bot.Reply, log *slog.Logger) {
	appID := in.AppID
	if appID == "" {
		appID = a.appID
	}
	at := reply.Attachment
	err := a.patchOriginalWithFile(ctx, appID, in.Token, reply)
	if err == nil {
		log.Debug("answer with file sent", "file", at.Name, "bytes", len(at.Data))
		return
	}
	log.Warn("answer with file failed", "file", at.Name, "err", err)
	why := "Discord did not take the upload; try again later"
	if errors.Is(err, errFileTooLarge) {
		why = "it is larger than Discord takes"
	}
	content := a.contentOf(bot.Reply{Text: "I could not attach the picture: " + why + ".\n\n" + reply.Text})
	components := a.replyButtons(reply)
	target := *in
	target.AppID = appID
	if _, err := a.session.InteractionResponseEdit(&target, &discordgo.WebhookEdit{
		Content: &content, Components: &components, AllowedMentions: noMentions(),
	}, discordgo.WithContext(ctx)); err != nil {
		log.Warn("answer without its file failed too", "err", classify("interaction follow-up", err))
	}
}

// patchOriginalWithFile sends the multipart edit.
func (a *Adapter) patchOriginalWithFile(ctx context.Context, appID, token string, reply bot.Reply) error {
	at := reply.Attachment
	if len(at.Data) > MaxFileBytes {
		return fmt.Errorf("%w: %d bytes, over %d", errFileTooLarge, len(at.Data), MaxFileBytes)
	}
	payload := fileEdit{
		Content:    a.contentOf(reply),
		Components: a.replyButtons(reply),
		Attachments: []attachmentRef{{ID: 0, Filename: at.Name,
			Description: bot.CutText(a.log, "attachment description", at.Alt, MaxAttachmentDescription)}},
		AllowedMentions: noMentions(),
	}
	ct, body, err := discordgo.MultipartBodyWithJSON(payload, []*discordgo.File{{Name: at.Name, ContentType: at.ContentType, Reader: bytes.NewReader(at.Data)}})
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	uri := discordgo.EndpointWebhookMessage(appID, token, "@original")
	if _, err := a.session.RequestRaw(http.MethodPatch, uri, ct, body, discordgo.EndpointWebhookToken("", ""), 0, discordgo.WithContext(ctx)); err != nil {
		return classify("interaction follow-up with file", err)
	}
	return nil
}
