package botapitest

import (
	"fmt"
	"time"
)

// These controls play the citizens: each queues one update as Telegram
// would produce it and returns the incoming message's id (or, for
// PressButton, the callback query id).

func user(id int64) User {
	return User{ID: id, FirstName: fmt.Sprintf("Citizen%d", id), LanguageCode: "fa"}
}

// pushLocked queues an update; s.mu must be held.
func (s *Server) pushLocked(u Update) {
	s.nextUpdate++
	u.UpdateID = s.nextUpdate
	s.queue = append(s.queue, queued{u: u})
	s.last = &u
	s.notifyLocked()
}

func (s *Server) incoming(chat, from int64, chatType string, fill func(m *Message)) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextMsg++
	u := user(from)
	m := &Message{MessageID: s.nextMsg, From: &u, Date: time.Now().Unix(), Chat: Chat{ID: chat, Type: chatType}}
	if chatType == "private" {
		m.Chat.FirstName = u.FirstName
	} else {
		m.Chat.Title = "A group"
	}
	fill(m)
	s.pushLocked(Update{Message: m})
	return m.MessageID
}

// SendText queues a private text message from user in chat.
func (s *Server) SendText(chat, from int64, text string) int {
	return s.incoming(chat, from, "private", func(m *Message) { m.Text = text })
}

// SendPhoto queues a photo in two sizes (a thumbnail and data itself), as
// Telegram sends every photo.
func (s *Server) SendPhoto(chat, from int64, data []byte, caption string) int {
	return s.incoming(chat, from, "private", func(m *Message) {
		thumb := s.addFileLocked("thumbnails", data[:min(len(data), 64)])
		full := s.addFileLocked("photos", data)
		m.Photo = []PhotoSize{
			{FileID: thumb.FileID, FileUniqueID: thumb.FileUniqueID, Width: 90, Height: 67, FileSize: thumb.FileSize},
			{FileID: full.FileID, FileUniqueID: full.FileUniqueID, Width: 1280, Height: 960, FileSize: full.FileSize},
		}
		m.Caption = caption
	})
}

// SendVoice queues a voice note (OGG/Opus).
func (s *Server) SendVoice(chat, from int64, data []byte, seconds int) int {
	return s.incoming(chat, from, "private", func(m *Message) {
		f := s.addFileLocked("voice", data)
		m.Voice = &Voice{FileID: f.FileID, FileUniqueID: f.FileUniqueID, Duration: seconds, MimeType: "audio/ogg", FileSize: f.FileSize}
	})
}

// SendDocument queues a file.
func (s *Server) SendDocument(chat, from int64, name, mimeType string, data []byte) int {
	return s.incoming(chat, from, "private", func(m *Message) {
		f := s.addFileLocked("documents", data)
		m.Document = &Document{FileID: f.FileID, FileUniqueID: f.FileUniqueID, FileName: name, MimeType: mimeType, FileSize: f.FileSize}
	})
}

// SendLocation queues a shared location.
func (s *Server) SendLocation(chat, from int64, lat, long float64) int {
	return s.incoming(chat, from, "private", func(m *Message) {
		m.Location = &Location{Latitude: lat, Longitude: long}
	})
}

// SendContact queues a shared contact. ownerUserID is the Telegram user the
// phone belongs to: from itself when the user pressed a request_contact
// button, someone else (or 0) for a contact picked from the address book.
func (s *Server) SendContact(chat, from int64, phone string, ownerUserID int64) int {
	return s.incoming(chat, from, "private", func(m *Message) {
		m.Contact = &Contact{PhoneNumber: phone, FirstName: fmt.Sprintf("Contact%d", ownerUserID), UserID: ownerUserID}
	})
}

// SendSticker queues a sticker.
func (s *Server) SendSticker(chat, from int64) int {
	return s.incoming(chat, from, "private", func(m *Message) {
		f := s.addFileLocked("stickers", []byte("RIFF-webp"))
		m.Sticker = &Sticker{FileID: f.FileID, FileUniqueID: f.FileUniqueID, Type: "regular", Width: 512, Height: 512, Emoji: "👍"}
	})
}

// SendGroupMessage queues a text message in a group chat (chat should be
// negative, as group ids are).
func (s *Server) SendGroupMessage(chat, from int64, text string) int {
	return s.incoming(chat, from, "group", func(m *Message) { m.Text = text })
}

// SendChannelPost queues a post in a channel the bot belongs to.
func (s *Server) SendChannelPost(chat int64, text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextMsg++
	m := &Message{MessageID: s.nextMsg, Date: time.Now().Unix(), Chat: Chat{ID: chat, Type: "channel", Title: "A channel"}, Text: text}
	s.pushLocked(Update{ChannelPost: m})
	return m.MessageID
}

// SendEditedMessage queues an edited_message update: the user changed the
// text of their earlier message messageID.
func (s *Server) SendEditedMessage(chat, from int64, messageID int, text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := user(from)
	now := time.Now().Unix()
	m := &Message{MessageID: messageID, From: &u, Date: now - 10, EditDate: now, Chat: Chat{ID: chat, Type: "private"}, Text: text}
	s.pushLocked(Update{EditedMessage: m})
	return messageID
}

// PressButton presses the newest inline button carrying data that the bot
// sent to any private chat, as that chat's user. It fails the test when no
// such button exists.
func (s *Server) PressButton(data string) string {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		found *Sent
		newer int
	)
	for _, list := range s.sent {
		for i := range list {
			for _, d := range list[i].InlineData() {
				if d == data && list[i].MessageID > newer {
					found, newer = &list[i], list[i].MessageID
				}
			}
		}
	}
	if found == nil {
		s.t.Fatalf("botapitest: no inline button with callback_data %q was sent", data)
		return ""
	}
	s.nextCB++
	id := fmt.Sprintf("cbq-%d", s.nextCB)
	s.openCB[id] = true
	u := user(found.ChatID)
	m := &Message{MessageID: found.MessageID, From: &s.Bot, Date: found.At.Unix(), Chat: Chat{ID: found.ChatID, Type: "private"}, Text: found.Text}
	s.pushLocked(Update{CallbackQuery: &CallbackQuery{ID: id, From: u, Message: m, ChatInstance: fmt.Sprintf("ci%d", found.ChatID), Data: data}})
	return id
}

// DuplicateLastUpdate queues the last update again with the same
// update_id, as Telegram does when it did not get the bot's
// acknowledgement; it is delivered once more even if already confirmed.
func (s *Server) DuplicateLastUpdate() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		s.t.Fatalf("botapitest: DuplicateLastUpdate before any update")
		return
	}
	s.queue = append(s.queue, queued{u: *s.last, redeliver: true})
	s.notifyLocked()
}
