package api

import (
	"context"
	"time"

	"whitecross"
)

// Group is a named static audience.
type Group struct {
	ID        string    `json:"id" format:"uuid"`
	Name      string    `json:"name"`
	MemberIDs []string  `json:"member_ids" nullable:"false"`
	CreatedBy string    `json:"created_by" format:"uuid"`
	CreatedAt time.Time `json:"created_at"`
}

func groupFrom(g *whitecross.Group) Group {
	return Group{ID: g.ID, Name: g.Name, MemberIDs: nonNil(g.MemberIDs), CreatedBy: g.CreatedBy, CreatedAt: g.CreatedAt}
}

// GroupList is the groups the caller may message.
type GroupList struct {
	Items []Group `json:"items" nullable:"false"`
}

type createGroupInput struct {
	Body struct {
		Name      string   `json:"name" minLength:"1" maxLength:"200"`
		MemberIDs []string `json:"member_ids" maxItems:"10000" doc:"Users the caller may message"`
	}
}

type groupIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"Group id"`
}

type groupOutput struct{ Body Group }

type groupListOutput struct{ Body GroupList }

func (s *Server) createGroup(ctx context.Context, in *createGroupInput) (*groupOutput, error) {
	g := &whitecross.Group{Name: in.Body.Name, MemberIDs: nonNil(in.Body.MemberIDs)}
	if err := s.deps.Groups.CreateGroup(ctx, g); err != nil {
		return nil, err
	}
	return &groupOutput{Body: groupFrom(g)}, nil
}

func (s *Server) getGroup(ctx context.Context, in *groupIDInput) (*groupOutput, error) {
	g, err := s.deps.Groups.FindGroupByID(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &groupOutput{Body: groupFrom(g)}, nil
}

func (s *Server) listGroups(ctx context.Context, _ *struct{}) (*groupListOutput, error) {
	list, err := s.deps.Groups.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	out := &groupListOutput{Body: GroupList{Items: make([]Group, 0, len(list))}}
	for _, g := range list {
		out.Body.Items = append(out.Body.Items, groupFrom(g))
	}
	return out, nil
}
