package app

import (
	"context"
	"time"

	"github.com/wharf-registry/wharf/internal/api"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/logexport"
	"github.com/wharf-registry/wharf/internal/worker"
)

// logExportStore is what log exports read and write: their own rows and
// the action log.
type logExportStore struct {
	*db.LogExports
	*db.Logs
}

// logExportService queues log exports and opens their files; nil when
// FEATURE_LOG_EXPORT is off. Callback URLs are vetted by the outbound
// policy (OUTBOUND_ALLOWED_NETWORKS, OUTBOUND_ALLOWED_HOSTS).
func (a *App) logExportService() *logexport.Service {
	if !a.Config.FeatureLogExport {
		return nil
	}
	return logexport.NewService(logExportStore{a.Store.LogExports, a.Store.Logs}, OutboundPolicy(a.Config), a.Blobs, time.Now)
}

// logExportMaxDuration bounds the writing of one export file (Quay's
// EXPORT_ACTION_LOGS_MAXIMUM_SECONDS default, 2 hours).
const logExportMaxDuration = 2 * time.Hour

// LogExporter is the export job's work: it writes the files of queued log
// exports and calls their callbacks through the outbound client; nil
// when FEATURE_LOG_EXPORT is off. Files are downloaded at
// PREFERRED_URL_SCHEME://SERVER_HOSTNAME/exportedlogs/<name> for
// EXPORT_ACTION_LOGS_SECONDS, then removed.
func (a *App) LogExporter() *logexport.Exporter {
	if !a.Config.FeatureLogExport {
		return nil
	}
	base := a.Config.PreferredURLScheme + "://" + a.Config.ServerHostname + logexport.FilePathPrefix
	return &logexport.Exporter{Store: logExportStore{a.Store.LogExports, a.Store.Logs}, Blobs: a.Blobs,
		Client: OutboundPolicy(a.Config).Client(logexport.CallbackTimeout), View: api.ExportedLogView,
		FileURL: func(name string) string { return base + name }, Now: time.Now, Log: a.Log, MaxDuration: logExportMaxDuration,
		FileLifetime: time.Duration(a.Config.ExportActionLogsSeconds) * time.Second}
}

// logExportJobs runs the exporter every 10 seconds; its lease outlasts
// the longest export.
func (a *App) logExportJobs() []worker.Job {
	x := a.LogExporter()
	if x == nil {
		return nil
	}
	return []worker.Job{{Name: "export-action-logs", Interval: 10 * time.Second, Lease: logExportMaxDuration + 10*time.Minute,
		Run: func(ctx context.Context) error {
			_, err := x.Run(ctx)
			return err
		}}}
}
