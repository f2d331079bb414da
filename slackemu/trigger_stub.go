package slackemu

// takeTrigger is replaced by the interactive plumbing's trigger ids (h11a).
func (s *Server) takeTrigger(id string) (string, string) { return "", "invalid_trigger_id" }
