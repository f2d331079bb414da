// Package deps pins the module's dependencies until the real packages import them. Temporary.
package deps

import (
	_ "github.com/gorilla/websocket"
	_ "github.com/mattn/go-sqlite3"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/robfig/cron/v3"
	_ "github.com/slack-go/slack"
	_ "github.com/slack-go/slack/slackevents"
	_ "github.com/slack-go/slack/socketmode"
	_ "go.yaml.in/yaml/v3"
)
