package api

import (
	"context"

	"whitecross"
)

type updateGroupInput struct {
	ID   string `path:"id" maxLength:"64" doc:"Group id"`
	Body struct {
		Name      *string   `json:"name,omitempty" minLength:"1" maxLength:"200"`
		MemberIDs *[]string `json:"member_ids,omitempty" minItems:"1" maxItems:"10000" doc:"Replaces the members; those added must be people the caller may message"`
	}
}

func (s *Server) updateGroup(ctx context.Context, in *updateGroupInput) (*groupOutput, error) {
	u := whitecross.GroupUpdate{Name: in.Body.Name}
	if in.Body.MemberIDs != nil {
		u.MemberIDs = nonNil(*in.Body.MemberIDs)
	}
	g, err := s.deps.Groups.UpdateGroup(ctx, in.ID, u)
	if err != nil {
		return nil, err
	}
	return &groupOutput{Body: groupFrom(g)}, nil
}

func (s *Server) deleteGroup(ctx context.Context, in *groupIDInput) (*struct{}, error) {
	return nil, s.deps.Groups.DeleteGroup(ctx, in.ID)
}
