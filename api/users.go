package api

import (
	"context"
	"strings"
	"time"

	"whitecross"
)

// User is a person in the caller's district, as the API shows them.
type User struct {
	ID            string     `json:"id" format:"uuid"`
	TenantID      string     `json:"tenant_id" format:"uuid"`
	Email         string     `json:"email" format:"email"`
	Name          string     `json:"name"`
	Role          string     `json:"role" enum:"ADMIN,SCHOOL_ADMIN,NURSE,STAFF,GUARDIAN"`
	Phone         string     `json:"phone" doc:"E.164, or empty"`
	Locale        string     `json:"locale"`
	Timezone      string     `json:"timezone" doc:"IANA time zone, or empty for the district's"`
	LocationIDs   []string   `json:"location_ids" nullable:"false"`
	DeactivatedAt *time.Time `json:"deactivated_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func userFrom(u *whitecross.User) User {
	return User{
		ID: u.ID, TenantID: u.TenantID, Email: u.Email, Name: u.Name, Role: string(u.Role),
		Phone: u.Phone, Locale: u.Locale, Timezone: u.Timezone, LocationIDs: nonNil(u.LocationIDs),
		DeactivatedAt: u.DeactivatedAt, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

// UserPage is one page of the directory.
type UserPage struct {
	Items      []User  `json:"items" nullable:"false"`
	NextCursor *string `json:"next_cursor" doc:"Pass as cursor for the next page; null on the last page"`
}

type listUsersInput struct {
	Q          string `query:"q" maxLength:"200" doc:"Matches name or email, case-insensitive"`
	Role       string `query:"role" maxLength:"20" doc:"admin, school_admin, nurse, staff or guardian (either case)"`
	LocationID string `query:"location_id" maxLength:"64" doc:"Users at this location or below it"`
	Limit      int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
	Cursor     string `query:"cursor" maxLength:"200"`
}

// listPeopleInput is listUsersInput and a status. (Huma reads only
// exported fields, so an embedded listUsersInput would be ignored.)
type listPeopleInput struct {
	Q          string `query:"q" maxLength:"200" doc:"Matches name or email, case-insensitive"`
	Role       string `query:"role" maxLength:"20" doc:"admin, school_admin, nurse, staff or guardian (either case)"`
	LocationID string `query:"location_id" maxLength:"64" doc:"Users at this location or below it"`
	Status     string `query:"status" maxLength:"20" doc:"active or deactivated (either case): only those people; both when absent"`
	Limit      int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
	Cursor     string `query:"cursor" maxLength:"200"`
}

type userPageOutput struct{ Body UserPage }

type userOutput struct{ Body User }

type userIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"User id"`
}

type createUserInput struct {
	Body struct {
		Email       string   `json:"email" format:"email" minLength:"3" maxLength:"254"`
		Name        string   `json:"name" minLength:"1" maxLength:"200"`
		Role        string   `json:"role" enum:"ADMIN,SCHOOL_ADMIN,NURSE,STAFF,GUARDIAN"`
		Phone       string   `json:"phone,omitempty" maxLength:"16" doc:"E.164, e.g. +15551234567"`
		Locale      string   `json:"locale,omitempty" maxLength:"35" doc:"BCP 47, e.g. en-US; the district's default_locale (else en) when absent"`
		Timezone    string   `json:"timezone,omitempty" maxLength:"64" doc:"IANA time zone, e.g. America/Chicago"`
		LocationIDs []string `json:"location_ids,omitempty" maxItems:"100" doc:"May be empty for a guardian: their students place them"`
		Password    string   `json:"password,omitempty" maxLength:"128" writeOnly:"true" doc:"Refused (403): nobody chooses another person's password"`
	}
}

type updateUserInput struct {
	ID   string `path:"id" maxLength:"64" doc:"User id"`
	Body struct {
		Name        *string   `json:"name,omitempty" minLength:"1" maxLength:"200"`
		Role        *string   `json:"role,omitempty" enum:"ADMIN,SCHOOL_ADMIN,NURSE,STAFF,GUARDIAN"`
		Phone       *string   `json:"phone,omitempty" maxLength:"16" doc:"E.164, or empty to remove"`
		Locale      *string   `json:"locale,omitempty" maxLength:"35"`
		Timezone    *string   `json:"timezone,omitempty" maxLength:"64"`
		LocationIDs *[]string `json:"location_ids,omitempty" maxItems:"100" doc:"Replaces the user's locations"`
		Password    *string   `json:"password,omitempty" maxLength:"128" writeOnly:"true" doc:"Refused (403): change your own with PUT /api/v1/me/password"`
	}
}

func (s *Server) listUsers(ctx context.Context, in *listUsersInput) (*userPageOutput, error) {
	f, err := in.filter()
	if err != nil {
		return nil, err
	}
	page, err := s.deps.Users.ListUsers(ctx, f)
	if err != nil {
		return nil, err
	}
	return userPageFrom(page), nil
}

// listPeople is the administrators' listing: the people they administer,
// deactivated ones too.
func (s *Server) listPeople(ctx context.Context, in *listPeopleInput) (*userPageOutput, error) {
	q := listUsersInput{Q: in.Q, Role: in.Role, LocationID: in.LocationID, Limit: in.Limit, Cursor: in.Cursor}
	f, err := q.filter()
	if err != nil {
		return nil, err
	}
	f.Status = whitecross.UserStatus(strings.ToUpper(strings.TrimSpace(in.Status)))
	page, err := s.deps.Users.ListAdministeredUsers(ctx, f)
	if err != nil {
		return nil, err
	}
	return userPageFrom(page), nil
}

// filter is the store's filter of a directory query.
func (in *listUsersInput) filter() (whitecross.UserFilter, error) {
	f := whitecross.UserFilter{Query: in.Q, LocationID: in.LocationID, Limit: in.Limit, Cursor: in.Cursor}
	if in.Role != "" {
		f.Role = whitecross.Role(strings.ToUpper(in.Role))
		if !f.Role.Valid() {
			return f, whitecross.FieldErrorf(whitecross.EINVALID, "query.role", in.Role,
				"role must be one of admin, school_admin, nurse, staff, guardian")
		}
	}
	return f, nil
}

func userPageFrom(page *whitecross.UserPage) *userPageOutput {
	out := &userPageOutput{Body: UserPage{Items: make([]User, 0, len(page.Items))}}
	for _, u := range page.Items {
		out.Body.Items = append(out.Body.Items, userFrom(u))
	}
	if page.NextCursor != "" {
		out.Body.NextCursor = &page.NextCursor
	}
	return out
}

func (s *Server) createUser(ctx context.Context, in *createUserInput) (*userOutput, error) {
	b := in.Body
	u, err := s.deps.Users.CreateUser(ctx, &whitecross.UserCreate{
		Email: b.Email, Name: b.Name, Role: whitecross.Role(b.Role), Phone: b.Phone,
		Locale: b.Locale, Timezone: b.Timezone, LocationIDs: nonNil(b.LocationIDs), Password: b.Password,
	})
	if err != nil {
		return nil, err
	}
	return &userOutput{Body: userFrom(u)}, nil
}

func (s *Server) getUser(ctx context.Context, in *userIDInput) (*userOutput, error) {
	u, err := s.deps.Users.FindUserByID(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &userOutput{Body: userFrom(u)}, nil
}

// errPasswordOnPatch refuses a password in a user update: another person's
// is nobody else's to choose, and one's own needs the current one.
var errPasswordOnPatch = whitecross.FieldErrorf(whitecross.EFORBIDDEN, "body.password", nil,
	"Passwords are not changed here: change your own with PUT /api/v1/me/password; an administrator deactivates an account instead.")

func (s *Server) updateUser(ctx context.Context, in *updateUserInput) (*userOutput, error) {
	b := in.Body
	if b.Password != nil {
		return nil, errPasswordOnPatch
	}
	upd := &whitecross.UserUpdate{
		Name: b.Name, Phone: b.Phone, Locale: b.Locale, Timezone: b.Timezone, LocationIDs: b.LocationIDs,
	}
	if b.Role != nil {
		role := whitecross.Role(*b.Role)
		upd.Role = &role
	}
	u, err := s.deps.Users.UpdateUser(ctx, in.ID, upd)
	if err != nil {
		return nil, err
	}
	return &userOutput{Body: userFrom(u)}, nil
}

func (s *Server) deleteUser(ctx context.Context, in *userIDInput) (*struct{}, error) {
	return nil, s.deps.Users.DeactivateUser(ctx, in.ID)
}

func (s *Server) reactivateUser(ctx context.Context, in *userIDInput) (*userOutput, error) {
	u, err := s.deps.Users.ReactivateUser(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &userOutput{Body: userFrom(u)}, nil
}

// nonNil makes an absent list an empty one, so JSON says [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// updateMeInput is PATCH /me: what a person changes about themselves.
// Email and role are not among the fields: an unknown field is refused
// (422), so sending either says so rather than being ignored.
type updateMeInput struct {
	Body struct {
		Name     *string `json:"name,omitempty" minLength:"1" maxLength:"200" doc:"1 to 200 characters"`
		Locale   *string `json:"locale,omitempty" maxLength:"35" doc:"BCP 47 language tag, e.g. en or es-MX; empty: en"`
		Timezone *string `json:"timezone,omitempty" maxLength:"64" doc:"IANA time zone, e.g. America/Chicago; empty: the district's"`
		Phone    *string `json:"phone,omitempty" maxLength:"16" doc:"E.164, e.g. +15551234567, or empty to remove"`
	}
}

func (s *Server) updateMe(ctx context.Context, in *updateMeInput) (*meOutput, error) {
	b := in.Body
	u, err := s.deps.Users.UpdateProfile(ctx, &whitecross.ProfileUpdate{
		Name: b.Name, Locale: b.Locale, Timezone: b.Timezone, Phone: b.Phone,
	})
	if err != nil {
		return nil, err
	}
	return &meOutput{Body: userFrom(u)}, nil
}
