// Package e2e drives real WebDAV clients (cadaver, rclone, davfs2, curl, headless Chromium) and
// replayed desktop-client transcripts against a live lockdav server started on a loopback port.
// It holds tests only; every test starts its own server over a fresh temporary root and state dir.
package e2e
