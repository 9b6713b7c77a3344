package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"whitecross"
)

var _ whitecross.GroupService = (*Store)(nil)

// CreateGroup implements whitecross.GroupService. Only ADMIN and
// SCHOOL_ADMIN users create groups (EFORBIDDEN otherwise, also for the
// system, which is no user to own one). The name is 1..200 characters; the
// members 1..10,000 user ids of the tenant, repeats dropped (EINVALID naming
// body.member_ids[i] for one not in the tenant), each one the caller may
// message or the caller themselves (EFORBIDDEN naming body.member_ids[i]).
func (s *Store) CreateGroup(ctx context.Context, g *whitecross.Group) error {
	a, err := caller(ctx)
	if err != nil {
		return err
	}
	if a.System || (a.Role != whitecross.RoleAdmin && a.Role != whitecross.RoleSchoolAdmin) {
		return whitecross.Errorf(whitecross.EFORBIDDEN, "You may not create groups.")
	}
	if g.Name, err = validName("body.name", g.Name); err != nil {
		return err
	}
	if len(g.MemberIDs) == 0 || len(g.MemberIDs) > maxGroupMembers {
		return whitecross.FieldErrorf(whitecross.EINVALID, "body.member_ids", len(g.MemberIDs), "A group has 1 to %d members.", maxGroupMembers)
	}
	canon := make([]string, len(g.MemberIDs))
	for i, id := range g.MemberIDs {
		c, ok := parseID(id)
		if !ok {
			return whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.member_ids[%d]", i), id, "User not found.")
		}
		canon[i] = c
	}
	members, index := dedupe(canon)
	self := strings.ToLower(a.UserID)
	return s.db.InTx(ctx, func(tx *Tx) error {
		exists, err := s.existingUsers(ctx, tx, a.TenantID, members)
		if err != nil {
			return err
		}
		for j, id := range members {
			if !exists[id] {
				return whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.member_ids[%d]", index[j]), g.MemberIDs[index[j]], "User not found.")
			}
		}
		ok, err := s.filterMessageable(ctx, tx, a, members)
		if err != nil {
			return err
		}
		for j, id := range members {
			if !ok[id] && id != self {
				return whitecross.FieldErrorf(whitecross.EFORBIDDEN, fmt.Sprintf("body.member_ids[%d]", index[j]), g.MemberIDs[index[j]], "You may not message this user.")
			}
		}
		g.ID = newID()
		g.TenantID = a.TenantID
		g.CreatedBy = self
		g.CreatedAt = s.db.now()
		g.MemberIDs = members
		if _, err := tx.Exec(ctx, `INSERT INTO user_groups (id, tenant_id, name, created_by, created_at) VALUES ($1, $2, $3, $4, $5)`,
			g.ID, g.TenantID, g.Name, g.CreatedBy, g.CreatedAt); err != nil {
			return fmt.Errorf("insert group: %w", err)
		}
		if err := s.insertMembers(ctx, tx, g.TenantID, g.ID, members); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, whitecross.AuditGroupCreated, "group", g.ID, map[string]string{"members": strconv.Itoa(len(members))})
	})
}

// existingUsers returns which of ids are users of the tenant.
func (s *Store) existingUsers(ctx context.Context, q Querier, tenantID string, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	for _, batch := range batches(ids) {
		rows, err := q.Query(ctx, `SELECT id FROM users WHERE tenant_id = $1 AND id IN (`+placeholders(2, len(batch))+`)`,
			append([]any{tenantID}, anySlice(batch)...)...)
		if err != nil {
			return nil, fmt.Errorf("check users: %w", err)
		}
		got, err := collect(rows, scanLowerID)
		if err != nil {
			return nil, fmt.Errorf("check users: %w", err)
		}
		for _, id := range got {
			out[id] = true
		}
	}
	return out, nil
}

// FindGroupByID implements whitecross.GroupService. ENOTFOUND for a group
// of another tenant or one the caller may not message: ADMIN may message
// every group, its creator their own, a SCHOOL_ADMIN, NURSE or STAFF user a
// group whose every active member but themselves they may message;
// guardians none.
func (s *Store) FindGroupByID(ctx context.Context, id string) (*whitecross.Group, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	id, ok := parseID(id)
	if !ok {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Group not found.")
	}
	list, err := s.listGroups(ctx, a, `AND g.id = $3`, id)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, whitecross.Errorf(whitecross.ENOTFOUND, "Group not found.")
	}
	return list[0], nil
}

// ListGroups implements whitecross.GroupService: the groups the caller may
// message (as FindGroupByID), ordered by name.
func (s *Store) ListGroups(ctx context.Context) ([]*whitecross.Group, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.listGroups(ctx, a, ``)
}

func (s *Store) listGroups(ctx context.Context, a *whitecross.Actor, and string, args ...any) ([]*whitecross.Group, error) {
	r := reach{a}
	q := s.db.Reader()
	rows, err := q.Query(ctx, reachWith+`SELECT g.id, g.tenant_id, g.name, g.created_by, g.created_at FROM user_groups g
		WHERE g.tenant_id = $1 AND `+r.visibleGroup("g")+` `+and+` ORDER BY LOWER(g.name), g.id`, append(r.args(), args...)...)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	defer rows.Close()
	out := []*whitecross.Group{}
	byID := map[string]*whitecross.Group{}
	var ids []string
	for rows.Next() {
		var g whitecross.Group
		if err := rows.Scan(&g.ID, &g.TenantID, &g.Name, &g.CreatedBy, &g.CreatedAt); err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		g.CreatedAt = g.CreatedAt.UTC()
		g.MemberIDs = []string{}
		out = append(out, &g)
		byID[g.ID] = &g
		ids = append(ids, g.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	rows.Close()
	for _, batch := range batches(ids) {
		rows, err := q.Query(ctx, `SELECT group_id, user_id FROM group_members WHERE group_id IN (`+
			placeholders(1, len(batch))+`) ORDER BY group_id, user_id`, anySlice(batch)...)
		if err != nil {
			return nil, fmt.Errorf("load group members: %w", err)
		}
		for rows.Next() {
			var gid, uid string
			if err := rows.Scan(&gid, &uid); err != nil {
				rows.Close()
				return nil, fmt.Errorf("load group members: %w", err)
			}
			if g := byID[gid]; g != nil {
				g.MemberIDs = append(g.MemberIDs, uid)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("load group members: %w", err)
		}
	}
	return out, nil
}
