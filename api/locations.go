package api

import (
	"context"
	"time"

	"whitecross"
)

// Location is a district, school or campus; locations form a tree.
type Location struct {
	ID        string    `json:"id" format:"uuid"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind" enum:"DISTRICT,SCHOOL,CAMPUS"`
	ParentID  *string   `json:"parent_id" doc:"null for a root"`
	CreatedAt time.Time `json:"created_at"`
}

func locationFrom(l *whitecross.Location) Location {
	return Location{ID: l.ID, Name: l.Name, Kind: string(l.Kind), ParentID: l.ParentID, CreatedAt: l.CreatedAt}
}

// LocationList is every location of the district, parents before children.
type LocationList struct {
	Items []Location `json:"items" nullable:"false"`
}

type createLocationInput struct {
	Body struct {
		Name     string  `json:"name" minLength:"1" maxLength:"200"`
		Kind     string  `json:"kind" enum:"DISTRICT,SCHOOL,CAMPUS"`
		ParentID *string `json:"parent_id,omitempty" nullable:"true" maxLength:"64" doc:"A location of the same district; omit or null for a root"`
	}
}

type renameLocationInput struct {
	ID   string `path:"id" maxLength:"64" doc:"Location id"`
	Body struct {
		Name string `json:"name" minLength:"1" maxLength:"200"`
	}
}

type locationOutput struct{ Body Location }

type locationListOutput struct{ Body LocationList }

func (s *Server) createLocation(ctx context.Context, in *createLocationInput) (*locationOutput, error) {
	l := &whitecross.Location{Name: in.Body.Name, Kind: whitecross.LocationKind(in.Body.Kind), ParentID: in.Body.ParentID}
	if err := s.deps.Locations.CreateLocation(ctx, l); err != nil {
		return nil, err
	}
	return &locationOutput{Body: locationFrom(l)}, nil
}

func (s *Server) listLocations(ctx context.Context, _ *struct{}) (*locationListOutput, error) {
	locs, err := s.deps.Locations.ListLocations(ctx)
	if err != nil {
		return nil, err
	}
	out := &locationListOutput{Body: LocationList{Items: make([]Location, 0, len(locs))}}
	for _, l := range locs {
		out.Body.Items = append(out.Body.Items, locationFrom(l))
	}
	return out, nil
}

func (s *Server) renameLocation(ctx context.Context, in *renameLocationInput) (*locationOutput, error) {
	l, err := s.deps.Locations.RenameLocation(ctx, in.ID, in.Body.Name)
	if err != nil {
		return nil, err
	}
	return &locationOutput{Body: locationFrom(l)}, nil
}
