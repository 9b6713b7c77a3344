package api

import (
	"context"

	"whitecross"
)

type updateStudentInput struct {
	ID   string `path:"id" maxLength:"64" doc:"Student id"`
	Body struct {
		Name       *string `json:"name,omitempty" minLength:"1" maxLength:"200"`
		Grade      *string `json:"grade,omitempty" minLength:"1" maxLength:"16" doc:"A string: \"K\", \"3\""`
		LocationID *string `json:"location_id,omitempty" maxLength:"64"`
	}
}

type guardianPathInput struct {
	ID     string `path:"id" maxLength:"64" doc:"Student id"`
	UserID string `path:"user_id" maxLength:"64" doc:"Guardian's user id"`
}

type setGuardianInput struct {
	ID     string `path:"id" maxLength:"64" doc:"Student id"`
	UserID string `path:"user_id" maxLength:"64" doc:"Guardian's user id"`
	Body   struct {
		Custody bool `json:"custody" doc:"false: a contact only, who may not be told about the student nor reach staff through them"`
	}
}

func (s *Server) updateStudent(ctx context.Context, in *updateStudentInput) (*studentOutput, error) {
	st, err := s.deps.Students.UpdateStudent(ctx, in.ID, whitecross.StudentUpdate{
		Name: in.Body.Name, Grade: in.Body.Grade, LocationID: in.Body.LocationID})
	if err != nil {
		return nil, err
	}
	return &studentOutput{Body: studentFrom(st)}, nil
}

func (s *Server) setGuardian(ctx context.Context, in *setGuardianInput) (*studentOutput, error) {
	st, err := s.deps.Students.SetGuardian(ctx, in.ID, whitecross.Guardianship{UserID: in.UserID, Custody: in.Body.Custody})
	if err != nil {
		return nil, err
	}
	return &studentOutput{Body: studentFrom(st)}, nil
}

func (s *Server) removeGuardian(ctx context.Context, in *guardianPathInput) (*studentOutput, error) {
	st, err := s.deps.Students.RemoveGuardian(ctx, in.ID, in.UserID)
	if err != nil {
		return nil, err
	}
	return &studentOutput{Body: studentFrom(st)}, nil
}
