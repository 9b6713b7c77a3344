package api

import (
	"context"
	"time"

	"whitecross"
)

// Student is a child at one location, with their guardians.
type Student struct {
	ID         string     `json:"id" format:"uuid"`
	Name       string     `json:"name"`
	LocationID string     `json:"location_id" format:"uuid"`
	Grade      string     `json:"grade" doc:"\"K\", \"1\" ... \"12\""`
	Guardians  []Guardian `json:"guardians" nullable:"false"`
	CreatedAt  time.Time  `json:"created_at"`
	FromRoster bool       `json:"from_roster" doc:"Imported from the roster, which owns its name, grade, location and the links it made"`
	// DeactivatedAt is set when the roster no longer lists the student;
	// only administrators see deactivated students.
	DeactivatedAt *time.Time `json:"deactivated_at" doc:"When the student was deactivated; null while active"`
}

// Guardian links a guardian user to a student. Without custody they are a
// contact only: no messaging reach through this student either way.
type Guardian struct {
	UserID   string `json:"user_id" maxLength:"64" doc:"A user of role GUARDIAN in the same district"`
	Custody  bool   `json:"custody"`
	Imported bool   `json:"imported,omitempty" readOnly:"true" doc:"The roster made this link (read only: it changes in the student information system)"`
}

func studentFrom(st *whitecross.Student) Student {
	out := Student{
		ID: st.ID, Name: st.Name, LocationID: st.LocationID, Grade: st.Grade,
		Guardians: make([]Guardian, 0, len(st.Guardians)), CreatedAt: st.CreatedAt,
		FromRoster: st.ExternalID != "", DeactivatedAt: st.DeactivatedAt,
	}
	for _, g := range st.Guardians {
		out.Guardians = append(out.Guardians, Guardian{UserID: g.UserID, Custody: g.Custody, Imported: g.Imported})
	}
	return out
}

// StudentList is one page of the students the caller may see.
type StudentList struct {
	Items      []Student `json:"items" nullable:"false"`
	NextCursor *string   `json:"next_cursor" doc:"Pass as cursor for the next page; null on the last page"`
}

type listStudentsInput struct {
	Q                  string `query:"q" maxLength:"200" doc:"Matches the name, case-insensitive"`
	LocationID         string `query:"location_id" maxLength:"64" doc:"Students at this location or below it"`
	Grade              string `query:"grade" maxLength:"16" doc:"Exactly this grade (\"K\", \"3\")"`
	IncludeDeactivated bool   `query:"include_deactivated" doc:"Also list deactivated students (ADMIN and SCHOOL_ADMIN only; 403 otherwise)"`
	Limit              int    `query:"limit" minimum:"1" maximum:"100" default:"50"`
	Cursor             string `query:"cursor" maxLength:"2048"`
}

type createStudentInput struct {
	Body struct {
		Name       string     `json:"name" minLength:"1" maxLength:"200"`
		LocationID string     `json:"location_id" maxLength:"64"`
		Grade      string     `json:"grade" minLength:"1" maxLength:"16" doc:"A string: \"K\", \"3\""`
		Guardians  []Guardian `json:"guardians,omitempty" maxItems:"20"`
	}
}

type studentIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"Student id"`
}

type studentOutput struct{ Body Student }

type studentListOutput struct{ Body StudentList }

func (s *Server) createStudent(ctx context.Context, in *createStudentInput) (*studentOutput, error) {
	st := &whitecross.Student{Name: in.Body.Name, LocationID: in.Body.LocationID, Grade: in.Body.Grade}
	for _, g := range in.Body.Guardians {
		st.Guardians = append(st.Guardians, whitecross.Guardianship{UserID: g.UserID, Custody: g.Custody})
	}
	if err := s.deps.Students.CreateStudent(ctx, st); err != nil {
		return nil, err
	}
	return &studentOutput{Body: studentFrom(st)}, nil
}

func (s *Server) getStudent(ctx context.Context, in *studentIDInput) (*studentOutput, error) {
	st, err := s.deps.Students.FindStudentByID(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &studentOutput{Body: studentFrom(st)}, nil
}

func (s *Server) listStudents(ctx context.Context, in *listStudentsInput) (*studentListOutput, error) {
	page, err := s.deps.Students.SearchStudents(ctx, whitecross.StudentFilter{Query: in.Q, LocationID: in.LocationID, Grade: in.Grade,
		IncludeDeactivated: in.IncludeDeactivated, Limit: in.Limit, Cursor: in.Cursor})
	if err != nil {
		return nil, err
	}
	out := &studentListOutput{Body: StudentList{Items: make([]Student, 0, len(page.Items))}}
	for _, st := range page.Items {
		out.Body.Items = append(out.Body.Items, studentFrom(st))
	}
	if page.NextCursor != "" {
		out.Body.NextCursor = &page.NextCursor
	}
	return out, nil
}
