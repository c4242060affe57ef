package detect

// OCSF Detection Finding (class 2004) export of an Alert, so alerts can be
// shipped to OCSF consumers by plain JSON encoding. Field names follow
// OCSF 1.8.0; see docs/detection.md.

// OCSFFinding is an OCSF Detection Finding.
type OCSFFinding struct {
	ClassUID     int              `json:"class_uid"`
	CategoryUID  int              `json:"category_uid"`
	ActivityID   int              `json:"activity_id"`
	TypeUID      int              `json:"type_uid"`
	Time         int64            `json:"time"`
	SeverityID   int              `json:"severity_id"`
	Severity     string           `json:"severity"`
	StatusID     int              `json:"status_id"`
	IsAlert      bool             `json:"is_alert"`
	ConfidenceID int              `json:"confidence_id,omitempty"`
	Confidence   int              `json:"confidence,omitempty"`
	Message      string           `json:"message"`
	FindingInfo  OCSFFindingInfo  `json:"finding_info"`
	Observables  []OCSFObservable `json:"observables,omitempty"`
	Metadata     OCSFMetadata     `json:"metadata"`
	Unmapped     map[string]any   `json:"unmapped,omitempty"`
}

// OCSFFindingInfo is finding_info.
type OCSFFindingInfo struct {
	UID           string       `json:"uid"`
	Title         string       `json:"title"`
	Types         []string     `json:"types"`
	Analytic      OCSFAnalytic `json:"analytic"`
	FirstSeenTime int64        `json:"first_seen_time"`
	LastSeenTime  int64        `json:"last_seen_time"`
	RelatedEvents []OCSFUID    `json:"related_events,omitempty"`
	Attacks       []OCSFAttack `json:"attacks,omitempty"`
}

// OCSFAnalytic names the rule.
type OCSFAnalytic struct {
	UID     string `json:"uid"`
	Name    string `json:"name,omitempty"`
	TypeID  int    `json:"type_id"`
	Version string `json:"version,omitempty"`
}

// OCSFUID is an object known by its uid.
type OCSFUID struct {
	UID string `json:"uid"`
}

// OCSFAttack is one ATT&CK tactic/technique pair.
type OCSFAttack struct {
	Tactic    *OCSFNamed `json:"tactic,omitempty"`
	Technique *OCSFNamed `json:"technique,omitempty"`
}

// OCSFNamed is a uid with an optional name.
type OCSFNamed struct {
	UID  string `json:"uid"`
	Name string `json:"name,omitempty"`
}

// OCSFObservable is one observable.
type OCSFObservable struct {
	Name   string `json:"name"`
	TypeID int    `json:"type_id"`
	Value  string `json:"value"`
}

// OCSFMetadata is the metadata object.
type OCSFMetadata struct {
	Version string      `json:"version"`
	Product OCSFProduct `json:"product"`
}

// OCSFProduct names the producer.
type OCSFProduct struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
}

// observableTypes maps entity types to OCSF observable type_id.
var observableTypes = map[string]int{
	EntityHost: 1, EntityDomain: 1, EntityIP: 2, EntityUser: 4, EntityEmail: 5,
	EntityURL: 6, EntityFile: 7, EntityHash: 8,
}

// OCSF returns the alert as an OCSF Detection Finding (activity Create,
// status New; 99 Other for entity types OCSF has no observable type for).
func (a *Alert) OCSF() OCSFFinding {
	f := OCSFFinding{
		ClassUID: 2004, CategoryUID: 2, ActivityID: 1, TypeUID: 200401,
		Time:       a.Time.UnixMilli(),
		SeverityID: int(a.Severity), Severity: a.SeverityName,
		StatusID: 1, IsAlert: true,
		Message: a.Title,
		FindingInfo: OCSFFindingInfo{
			UID: a.ID, Title: a.Rule.Title, Types: []string{a.Kind},
			Analytic:      OCSFAnalytic{UID: a.Rule.ID, Name: a.Rule.Name, TypeID: 1, Version: a.Rule.Version},
			FirstSeenTime: a.FirstSeen.UnixMilli(), LastSeenTime: a.LastSeen.UnixMilli(),
		},
		Metadata: OCSFMetadata{Version: "1.8.0", Product: OCSFProduct{Name: "MCPSoc", VendorName: "MCPSoc"}},
	}
	if a.Indicator != nil && a.Indicator.Confidence > 0 {
		f.Confidence = a.Indicator.Confidence
		switch {
		case a.Indicator.Confidence >= 80:
			f.ConfidenceID = 3
		case a.Indicator.Confidence >= 40:
			f.ConfidenceID = 2
		default:
			f.ConfidenceID = 1
		}
	}
	for _, id := range a.EventIDs {
		f.FindingInfo.RelatedEvents = append(f.FindingInfo.RelatedEvents, OCSFUID{UID: id})
	}
	// With one tactic every technique is paired with it; otherwise the
	// pairing is unknown and they are listed apart.
	if len(a.Tactics) == 1 && len(a.Techniques) > 0 {
		for _, t := range a.Techniques {
			f.FindingInfo.Attacks = append(f.FindingInfo.Attacks, OCSFAttack{
				Tactic:    &OCSFNamed{UID: a.Tactics[0].ID, Name: a.Tactics[0].Name},
				Technique: &OCSFNamed{UID: t},
			})
		}
	} else {
		for _, t := range a.Tactics {
			f.FindingInfo.Attacks = append(f.FindingInfo.Attacks, OCSFAttack{Tactic: &OCSFNamed{UID: t.ID, Name: t.Name}})
		}
		for _, t := range a.Techniques {
			f.FindingInfo.Attacks = append(f.FindingInfo.Attacks, OCSFAttack{Technique: &OCSFNamed{UID: t}})
		}
	}
	for _, e := range a.Entities {
		tid, ok := observableTypes[e.Type]
		if !ok {
			tid = 99
		}
		f.Observables = append(f.Observables, OCSFObservable{Name: e.Field, TypeID: tid, Value: e.Value})
	}
	un := map[string]any{"dedup_key": a.DedupKey, "count": a.Count}
	if len(a.Matched) > 0 {
		un["matched"] = a.Matched
	}
	if a.Shadow {
		un["shadow"] = true
	}
	if a.Anomaly != nil {
		un["anomaly"] = a.Anomaly
	}
	if a.Indicator != nil {
		un["indicator"] = a.Indicator
	}
	f.Unmapped = un
	return f
}
