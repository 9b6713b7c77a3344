package wire

import (
	"time"

	"whitecross"
)

// Receipt is one recipient's state of a message as its sender sees it:
// delivery and read state only (whether they archived it is theirs).
type Receipt struct {
	UserID      string     `json:"user_id" format:"uuid"`
	Name        string     `json:"name"`
	Role        string     `json:"role" enum:"ADMIN,SCHOOL_ADMIN,NURSE,STAFF,GUARDIAN"`
	DeliveredAt *time.Time `json:"delivered_at" doc:"When it reached their inbox, or null"`
	ReadAt      *time.Time `json:"read_at" doc:"When they first read it or replied to it, or null; marking it unread does not take it back"`
}

// ReceiptFrom is r on every wire.
func ReceiptFrom(r *whitecross.Receipt) Receipt {
	return Receipt{UserID: r.UserID, Name: r.Name, Role: string(r.Role), DeliveredAt: r.DeliveredAt, ReadAt: r.ReadAt}
}

// ReceiptRead is the data of the realtime receipt.read event: a recipient
// read one of the user's messages for the first time; ReadAt is the same
// time as that recipient's Receipt.ReadAt.
type ReceiptRead struct {
	MessageID string    `json:"message_id" format:"uuid"`
	UserID    string    `json:"user_id" format:"uuid"`
	ReadAt    time.Time `json:"read_at"`
}
