// Prints events as Go's encoding/json marshals the seed's Event type, one per
// line: timestamps with several offsets and nanoseconds, optional fields set
// and left out. The import tests read them as any Go service would write them.
//
// Usage: go run tests/go/marshal/main.go
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Event is the seed's Event, field for field.
type Event struct {
	ID        string                 `json:"id"`
	EventType string                 `json:"eventType"`
	ActorID   string                 `json:"actorId"`
	CommandID string                 `json:"commandId,omitempty"`
	Version   int64                  `json:"version"`
	Data      map[string]interface{} `json:"data"`
	Metadata  map[string]string      `json:"metadata,omitempty"`
	Timestamp time.Time              `json:"timestamp"`
}

func main() {
	zones := []*time.Location{
		time.UTC,
		time.FixedZone("CEST", 2*60*60),
		time.FixedZone("NST", -(3*60*60 + 30*60)),
		time.FixedZone("ACST", 9*60*60+30*60),
	}
	base := time.Date(2026, time.November, 27, 6, 30, 0, 0, time.UTC)
	for i := 0; i < 12; i++ {
		event := Event{
			ID:        fmt.Sprintf("go-event-%d", i),
			EventType: "OrderPlaced",
			ActorID:   fmt.Sprintf("order-%d", i%3),
			Version:   int64(i/3 + 1),
			Data: map[string]interface{}{
				"total": 12.5 * float64(i),
				"items": []interface{}{map[string]interface{}{"sku": "a<b>&c", "qty": i}},
				"note":  "ü😀\u2028",
				"big":   1e21,
			},
			Timestamp: base.Add(time.Duration(i)*time.Hour + time.Duration(i*123456789)).In(zones[i%len(zones)]),
		}
		if i%2 == 0 {
			event.CommandID = fmt.Sprintf("command-%d", i)
			event.Metadata = map[string]string{"correlationId": "c", "userId": "u"}
		}
		line, err := json.Marshal(event)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(string(line))
	}
}
