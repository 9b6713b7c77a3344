// Package delivery is the delivery pipeline: River jobs and workers that
// expand messages into inboxes and deliveries, on River's SQLite driver for
// the embedded deployment and its pgx driver on PostgreSQL.
package delivery
