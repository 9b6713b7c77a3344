// Package roster reads a district's roster in OneRoster 1.1 CSV form: the
// manifest, orgs.csv and users.csv of a directory or a .zip, one row at a
// time, so a 100,000-row users.csv is never held in memory.
//
// It validates rows and maps them to what whitecross keeps (locations,
// staff and guardian users, students with their guardians); a bad row is a
// RowError naming its file and line and is skipped, a set that is not
// OneRoster at all is ErrNotOneRoster. Applying the rows — matching by
// sourcedId, creating, updating and deactivating — is the store's work.
package roster
