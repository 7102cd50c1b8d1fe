// Package web is Cowrite's HTTP surface: the chi routes, the WebSocket
// endpoint, the REST API, health and metrics, and the editor pages and
// embeddable widget built from the TypeScript sources beside this file.
package web
