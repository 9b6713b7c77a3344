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
}

// Guardian links a guardian user to a student. Without custody they are a
// contact only: no messaging reach through this student either way.
type Guardian struct {
	UserID  string `json:"user_id" maxLength:"64" doc:"A user of role GUARDIAN in the same district"`
	Custody bool   `json:"custody"`
}

func studentFrom(st *whitecross.Student) Student {
	out := Student{
		ID: st.ID, Name: st.Name, LocationID: st.LocationID, Grade: st.Grade,
		Guardians: make([]Guardian, 0, len(st.Guardians)), CreatedAt: st.CreatedAt,
	}
	for _, g := range st.Guardians {
		out.Guardians = append(out.Guardians, Guardian(g))
	}
	return out
}

// StudentList is the students the caller may see.
type StudentList struct {
	Items []Student `json:"items" nullable:"false"`
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
		st.Guardians = append(st.Guardians, whitecross.Guardianship(g))
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

func (s *Server) listStudents(ctx context.Context, _ *struct{}) (*studentListOutput, error) {
	list, err := s.deps.Students.ListStudents(ctx)
	if err != nil {
		return nil, err
	}
	out := &studentListOutput{Body: StudentList{Items: make([]Student, 0, len(list))}}
	for _, st := range list {
		out.Body.Items = append(out.Body.Items, studentFrom(st))
	}
	return out, nil
}
