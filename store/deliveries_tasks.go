package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"whitecross"
)

// DeliveryRef names one delivery of a tenant for LoadDeliveryTasks.
type DeliveryRef struct {
	TenantID, DeliveryID string
}

// TaskResult is one delivery's task, or why there is none (ENOTFOUND).
type TaskResult struct {
	Task *whitecross.DeliveryTask
	Err  error
}

// LoadDeliveryTasks is LoadDeliveryTask for many deliveries at once, in
// the order of refs: the deliveries with their recipients and tenants in
// one query per idBatch, each message read and decrypted once however many
// of its deliveries are asked for, push subscriptions for PUSH deliveries.
// Unlike LoadDeliveryTask, the message is the one every recipient shares:
// the recipient's own read, archive and acknowledgement times are not read
// (sending uses none of them). An error concerns every ref.
func (s *Store) LoadDeliveryTasks(ctx context.Context, refs []DeliveryRef) ([]TaskResult, error) {
	ctx = AllTenants(ctx) // each ref names its tenant; a batch mixes them
	out := make([]TaskResult, len(refs))
	var ids []string
	for i, r := range refs {
		tenant, ok1 := parseID(r.TenantID)
		id, ok2 := parseID(r.DeliveryID)
		if !ok1 || !ok2 {
			out[i].Err = errDeliveryNotFound()
			continue
		}
		refs[i] = DeliveryRef{tenant, id}
		ids = append(ids, id)
	}
	q := s.db.Reader()
	found, err := loadTaskRows(ctx, q, parseIDs(ids))
	if err != nil {
		return nil, err
	}
	messages := map[string]*whitecross.Message{}
	for i, r := range refs {
		if out[i].Err != nil {
			continue
		}
		t := found[r.DeliveryID]
		if t == nil || t.tenant != r.TenantID {
			out[i].Err = errDeliveryNotFound()
			continue
		}
		task := t.task // a copy: a delivery asked for twice gets two tasks
		if out[i].Task, err = s.completeTask(ctx, q, r.TenantID, &task, messages); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// taskRow is a delivery's task as the first query reads it, with its
// tenant.
type taskRow struct {
	tenant string
	task   whitecross.DeliveryTask
}

// loadTaskRows reads the deliveries of ids with their recipients and
// tenants, keyed by delivery id.
func loadTaskRows(ctx context.Context, q Querier, ids []string) (map[string]*taskRow, error) {
	out := make(map[string]*taskRow, len(ids))
	for _, batch := range batches(ids) {
		rows, err := q.Query(ctx, taskQuery+` WHERE d.id IN (`+placeholders(1, len(batch))+`)`, anySlice(batch)...)
		if err != nil {
			return nil, fmt.Errorf("load deliveries: %w", err)
		}
		_, err = collect(rows, func(r Row) (bool, error) {
			t, err := scanTaskRow(r)
			if err == nil {
				out[t.task.Delivery.ID] = t
			}
			return true, err
		})
		if err != nil {
			return nil, fmt.Errorf("load deliveries: %w", err)
		}
	}
	return out, nil
}

// taskQuery reads deliveries with their recipients and tenants (what
// scanTaskRow scans); the caller adds the WHERE clause.
var taskQuery = `SELECT ` + deliveryWorkColumns("d.") + `, d.tenant_id, t.name, t.timezone, t.settings,
	u.name, u.email, u.phone, u.locale,
	EXISTS (SELECT 1 FROM email_suppressions es WHERE es.email = LOWER(u.email)),
	EXISTS (SELECT 1 FROM phone_opt_outs po WHERE po.phone = u.phone),
	EXISTS (SELECT 1 FROM message_recipients mr WHERE mr.message_id = d.message_id AND mr.user_id = d.recipient_id
		AND mr.acked_at IS NOT NULL)
	FROM deliveries d JOIN tenants t ON t.id = d.tenant_id JOIN users u ON u.id = d.recipient_id`

// scanTaskRow scans one row of taskQuery.
func scanTaskRow(r Row) (*taskRow, error) {
	t := &taskRow{}
	task, rc := &t.task, &t.task.Recipient
	var settings string
	d, err := scanDeliveryWork(r, &t.tenant, &task.TenantName, &task.Timezone, &settings,
		&rc.Name, &rc.Email, &rc.Phone, &rc.Locale, &rc.EmailSuppressed, &rc.PhoneOptedOut, &rc.Acknowledged)
	if err != nil {
		return nil, err
	}
	task.Delivery = *d
	if err := json.Unmarshal([]byte(settings), &task.Settings); err != nil {
		return nil, fmt.Errorf("decode tenant settings: %w", err)
	}
	t.tenant = strings.ToLower(t.tenant)
	rc.ID = d.RecipientID
	rc.Email, rc.Phone = strings.TrimSpace(rc.Email), strings.TrimSpace(rc.Phone)
	rc.Locale = cmp.Or(strings.TrimSpace(rc.Locale), task.Settings.DefaultLocale, defaultLocale)
	return t, nil
}

// completeTask adds the message (from messages, read and decrypted once
// per message) and, for PUSH, the recipient's subscriptions.
func (s *Store) completeTask(ctx context.Context, q Querier, tenantID string, task *whitecross.DeliveryTask, messages map[string]*whitecross.Message) (*whitecross.DeliveryTask, error) {
	d := &task.Delivery
	shared := messages[d.MessageID]
	if shared == nil {
		m, err := s.loadSharedMessage(ctx, q, tenantID, d.MessageID)
		if err != nil {
			return nil, err
		}
		messages[d.MessageID], shared = m, m
	}
	m := *shared
	m.RecipientIDs = []string{d.RecipientID}
	task.Message = &m
	if d.Channel == whitecross.ChannelPush {
		var err error
		if task.Recipient.Push, err = loadUserPushSubscriptions(ctx, q, tenantID, d.RecipientID, true); err != nil {
			return nil, err
		}
	}
	return task, nil
}

// loadSharedMessage reads a message as every recipient's delivery shares
// it: decrypted unless sensitive, no recipient's own state.
func (s *Store) loadSharedMessage(ctx context.Context, q Querier, tenantID, messageID string) (*whitecross.Message, error) {
	row, err := scanMessageRow(q.QueryRow(ctx, `SELECT `+messageColumns+`
		FROM messages m JOIN users su ON su.id = m.sender_id
		LEFT JOIN message_recipients mr ON mr.message_id = m.id AND 1 = 0
		WHERE m.tenant_id = $1 AND m.id = $2`, tenantID, messageID))
	if err != nil {
		return nil, fmt.Errorf("load message %s of deliveries: %w", messageID, err)
	}
	return s.openDeliveryMessage(ctx, row)
}
