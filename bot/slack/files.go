package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/policyteam/alertbot/bot"
)

// fileTimeout bounds the three requests of one upload.
const fileTimeout = time.Minute

// MaxFileTitle bounds a shared file's title; Slack cuts longer ones.
// https://docs.slack.dev/reference/methods/files.completeUploadExternal
const MaxFileTitle = 250

// shareFile answers a reply that carries a file: a slash command's
// answer cannot carry one, so the bot uploads it into the command's
// channel in the background, and the caller is told so at once. When the
// upload fails, the reason and the reply's text go to responseURL.
func (a *Adapter) shareFile(ctx context.Context, req bot.Request, rep bot.Reply, responseURL string) response {
	a.bg.Go(func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fileTimeout)
		defer cancel()
		a.uploadOrExplain(fctx, req, rep, responseURL)
	})
	return response{ResponseType: "ephemeral", Text: Escape("Posting " + rep.Attachment.Name + " in this channel…")}
}

// uploadOrExplain uploads rep's file into req's channel; on failure it
// answers the caller at responseURL with what went wrong and what to do,
// then the reply's text.
func (a *Adapter) uploadOrExplain(ctx context.Context, req bot.Request, rep bot.Reply, responseURL string) {
	channel := strings.TrimPrefix(req.Channel, "slack:")
	err := a.uploadFile(ctx, channel, rep)
	if err == nil {
		a.log.Debug("slack: file shared", "channel", channel, "file", rep.Attachment.Name, "bytes", len(rep.Attachment.Data))
		return
	}
	a.log.Warn("slack: file not shared", "channel", channel, "file", rep.Attachment.Name, "err", err)
	if !a.allowedResponseURL(responseURL) {
		return
	}
	p := a.replyPayload(bot.Reply{Text: fileErrorText(err) + "\n\n" + rep.Text, Error: true})
	if err := a.postResponse(ctx, responseURL, p); err != nil {
		a.log.Warn("slack: file error not delivered", "user", req.User, "err", err)
	}
}

// uploadFile puts rep's attachment into channel through Slack's upload:
// files.getUploadURLExternal, the bytes to the URL it returns, then
// files.completeUploadExternal, which shares the file in the channel
// with the reply's text as its message. slack-go sends the bytes with the
// token only to Slack's hosts or the configured API host (tests).
func (a *Adapter) uploadFile(ctx context.Context, channel string, rep bot.Reply) error {
	at := rep.Attachment
	if err := bot.CheckID("slack", channel); err != nil {
		return fmt.Errorf("files: channel: %w", err)
	}
	if len(at.Data) == 0 {
		return errors.New("files: empty file")
	}
	up, err := a.api.GetUploadURLExternalContext(ctx, slack.GetUploadURLExternalParameters{
		FileName: at.Name, FileSize: len(at.Data), AltTxt: bot.CutText(a.log, "file alt text", at.Alt, bot.MaxAltText),
	})
	if err != nil {
		return fmt.Errorf("files.getUploadURLExternal: %w", err)
	}
	if err := a.api.UploadToURL(ctx, slack.UploadToURLParameters{
		UploadURL: up.UploadURL, Filename: at.Name, Reader: bytes.NewReader(at.Data),
	}); err != nil {
		return fmt.Errorf("upload: %w", err)
	}
	title := bot.CutText(a.log, "file title", strings.TrimSuffix(at.Name, path.Ext(at.Name)), MaxFileTitle)
	complete := func() error {
		_, err := a.api.CompleteUploadExternalContext(ctx, slack.CompleteUploadExternalParameters{
			Files:          []slack.FileSummary{{ID: up.FileID, Title: title}},
			Channel:        channel,
			InitialComment: cutEscaped(a.log, "file comment", Escape(rep.Text), MaxMessageText),
		})
		return err
	}
	err = complete()
	if isSlackError(err, "not_in_channel") {
		// Sharing a file needs membership, even in a public channel where
		// chat:write.public posts without it. Someone asked for the
		// picture here, so the bot joins a public channel (channels:join)
		// and shares again; a private one needs an invitation.
		if _, _, _, jerr := a.api.JoinConversationContext(ctx, channel); jerr != nil {
			a.log.Info("slack: could not join the channel to share a file", "channel", channel, "err", jerr)
		} else {
			a.log.Info("slack: joined the channel to share a file", "channel", channel)
			err = complete()
		}
	}
	if err != nil {
		return fmt.Errorf("files.completeUploadExternal: %w", err)
	}
	return nil
}

// isSlackError reports whether err is Slack's ok:false answer code.
func isSlackError(err error, code string) bool {
	var se slack.SlackErrorResponse
	return errors.As(err, &se) && se.Err == code
}

// fileErrorText tells the caller why the file was not posted and what to
// do about it, in one or two sentences.
func fileErrorText(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "not_in_channel", "channel_not_found":
			return "I could not post the picture here: the bot is not a member of this channel. " +
				"Invite it with /invite @alertbot (or channel name → Integrations → Add apps), then try again."
		case "missing_scope":
			return "I could not post the picture: the Slack app lacks the files:write scope. " +
				"An admin adds it under OAuth & Permissions (or from a new manifest: alertbot slack manifest) and reinstalls the app."
		case "is_archived":
			return "I could not post the picture: this channel is archived."
		case "invalid_auth", "account_inactive", "token_revoked":
			return "I could not post the picture: Slack refused the bot's token. An admin checks SLACK_BOT_TOKEN."
		}
		return fmt.Sprintf("I could not post the picture: Slack answered %s. Try again later.", se.Err)
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return fmt.Sprintf("I could not post the picture: Slack asked to wait %s. Try again then.", rl.RetryAfter.Round(time.Second))
	}
	return "I could not post the picture: the upload to Slack failed. Try again later."
}
