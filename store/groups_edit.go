package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"whitecross"
)

// Changing and deleting groups follows CreateGroup's rules: ADMIN and
// SCHOOL_ADMIN users only, on a group they may message (FindGroupByID's
// rule: ADMIN any, a SCHOOL_ADMIN their own or one whose every member they
// may message). Members added must be people the caller may message; members
// kept may stay even if the caller could no longer add them, so that
// removing someone never fails because of someone else.

// UpdateGroup implements whitecross.GroupService. ENOTFOUND for a group the
// caller may not message; EFORBIDDEN for a caller who may not change groups
// or an added member they may not message (body.member_ids[i]); EINVALID
// for a bad name (body.name), no members or more than 10,000
// (body.member_ids) or an id not in the tenant (body.member_ids[i]).
func (s *Store) UpdateGroup(ctx context.Context, id string, u whitecross.GroupUpdate) (*whitecross.Group, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if u.Name != nil {
		name, err := validName("body.name", *u.Name)
		if err != nil {
			return nil, err
		}
		u.Name = &name
	}
	g, err := s.changeableGroup(ctx, a, id)
	if err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *Tx) error {
		detail := map[string]string{}
		if u.Name != nil && *u.Name != g.Name {
			if _, err := tx.Exec(ctx, `UPDATE user_groups SET name = $1 WHERE tenant_id = $2 AND id = $3`, *u.Name, g.TenantID, g.ID); err != nil {
				return fmt.Errorf("rename group: %w", err)
			}
			detail["renamed"] = "true"
		}
		if u.MemberIDs != nil {
			added, removed, err := s.replaceMembers(ctx, tx, a, g, u.MemberIDs)
			if err != nil {
				return err
			}
			if added+removed > 0 {
				detail["added"], detail["removed"] = strconv.Itoa(added), strconv.Itoa(removed)
			}
		}
		if len(detail) == 0 {
			return nil
		}
		return s.auditTx(ctx, tx, whitecross.AuditGroupUpdated, "group", g.ID, detail)
	})
	if err != nil {
		return nil, err
	}
	return s.FindGroupByID(ctx, g.ID)
}

// DeleteGroup implements whitecross.GroupService. Errors as UpdateGroup.
// Messages already sent to the group keep their recipients.
func (s *Store) DeleteGroup(ctx context.Context, id string) error {
	a, err := caller(ctx)
	if err != nil {
		return err
	}
	g, err := s.changeableGroup(ctx, a, id)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2`, g.TenantID, g.ID); err != nil {
			return fmt.Errorf("delete group members: %w", err)
		}
		n, err := tx.Exec(ctx, `DELETE FROM user_groups WHERE tenant_id = $1 AND id = $2`, g.TenantID, g.ID)
		if err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		if n == 0 {
			return whitecross.Errorf(whitecross.ENOTFOUND, "Group not found.")
		}
		return s.auditTx(ctx, tx, whitecross.AuditGroupDeleted, "group", g.ID, map[string]string{"members": strconv.Itoa(len(g.MemberIDs))})
	})
}

// changeableGroup returns a group the caller may change. ENOTFOUND for one
// they may not message; EFORBIDDEN for a caller who may not change groups.
func (s *Store) changeableGroup(ctx context.Context, a *whitecross.Actor, id string) (*whitecross.Group, error) {
	g, err := s.FindGroupByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.System || (a.Role != whitecross.RoleAdmin && a.Role != whitecross.RoleSchoolAdmin) {
		return nil, whitecross.Errorf(whitecross.EFORBIDDEN, "You may not change groups.")
	}
	return g, nil
}

// replaceMembers makes the group's members exactly given, checking the
// added ones as CreateGroup checks members, and returns how many were
// added and removed.
func (s *Store) replaceMembers(ctx context.Context, tx *Tx, a *whitecross.Actor, g *whitecross.Group, given []string) (added, removed int, err error) {
	if len(given) == 0 || len(given) > maxGroupMembers {
		return 0, 0, whitecross.FieldErrorf(whitecross.EINVALID, "body.member_ids", len(given), "A group has 1 to %d members.", maxGroupMembers)
	}
	canon := make([]string, len(given))
	for i, id := range given {
		c, ok := parseID(id)
		if !ok {
			return 0, 0, whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.member_ids[%d]", i), id, "User not found.")
		}
		canon[i] = c
	}
	members, index := dedupe(canon)
	current := make(map[string]bool, len(g.MemberIDs))
	for _, id := range g.MemberIDs {
		current[id] = true
	}
	var fresh []string
	var freshIndex []int
	for j, id := range members {
		if !current[id] {
			fresh, freshIndex = append(fresh, id), append(freshIndex, index[j])
		}
	}
	if err := s.checkNewMembers(ctx, tx, a, fresh, freshIndex, given); err != nil {
		return 0, 0, err
	}
	wanted := make(map[string]bool, len(members))
	var gone []string
	for _, id := range members {
		wanted[id] = true
	}
	for _, id := range g.MemberIDs {
		if !wanted[id] {
			gone = append(gone, id)
		}
	}
	if err := s.deleteMembers(ctx, tx, g, gone); err != nil {
		return 0, 0, err
	}
	return len(fresh), len(gone), s.insertMembers(ctx, tx, g.TenantID, g.ID, fresh)
}

// checkNewMembers applies CreateGroup's member rules to the members being
// added (ids canonical, index their places in given).
func (s *Store) checkNewMembers(ctx context.Context, tx *Tx, a *whitecross.Actor, ids []string, index []int, given []string) error {
	if len(ids) == 0 {
		return nil
	}
	exists, err := s.existingUsers(ctx, tx, a.TenantID, ids)
	if err != nil {
		return err
	}
	for j, id := range ids {
		if !exists[id] {
			return whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.member_ids[%d]", index[j]), given[index[j]], "User not found.")
		}
	}
	ok, err := s.filterMessageable(ctx, tx, a, ids)
	if err != nil {
		return err
	}
	self := strings.ToLower(a.UserID)
	for j, id := range ids {
		if !ok[id] && id != self {
			return whitecross.FieldErrorf(whitecross.EFORBIDDEN, fmt.Sprintf("body.member_ids[%d]", index[j]), given[index[j]], "You may not message this user.")
		}
	}
	return nil
}

func (s *Store) deleteMembers(ctx context.Context, tx *Tx, g *whitecross.Group, ids []string) error {
	for _, batch := range batches(ids) {
		if _, err := tx.Exec(ctx, `DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND user_id IN (`+placeholders(3, len(batch))+`)`,
			append([]any{g.TenantID, g.ID}, anySlice(batch)...)...); err != nil {
			return fmt.Errorf("delete group members: %w", err)
		}
	}
	return nil
}

// insertMembers adds members to a group, a batch per statement.
func (s *Store) insertMembers(ctx context.Context, tx *Tx, tenantID, groupID string, ids []string) error {
	for _, batch := range batches(ids) {
		values := make([]string, len(batch))
		for i := range batch {
			values[i] = "($1, $2, $" + strconv.Itoa(i+3) + ")"
		}
		if _, err := tx.Exec(ctx, `INSERT INTO group_members (tenant_id, group_id, user_id) VALUES `+strings.Join(values, ", "),
			append([]any{tenantID, groupID}, anySlice(batch)...)...); err != nil {
			return fmt.Errorf("insert group members: %w", err)
		}
	}
	return nil
}
