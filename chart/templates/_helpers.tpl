{{/*
Expand the name of the chart.
*/}}
{{- define "flux-sidecar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A default fully qualified name, truncated so that "<fullname>-api" is still a
valid DNS label (Service names are at most 63 characters).
If the release name contains the chart name it is used as is.
*/}}
{{- define "flux-sidecar.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 59 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 59 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 59 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Chart name and version as used by the chart label.
*/}}
{{- define "flux-sidecar.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "flux-sidecar.labels" -}}
helm.sh/chart: {{ include "flux-sidecar.chart" . }}
{{ include "flux-sidecar.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels.
*/}}
{{- define "flux-sidecar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flux-sidecar.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The MiniCluster is named after the release. The operator names its Job, and so
the pods' job-name label and hostnames ("<name>-<index>"), after it.
*/}}
{{- define "flux-sidecar.miniclusterName" -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- end }}

{{/*
The sidecar's container name. Fixed, for `kubectl logs -c`; it differs from the
chart name because the operator renames the broker's container to the
MiniCluster's name, which is the release name (often "flux-sidecar").
*/}}
{{- define "flux-sidecar.containerName" -}}
flux-sidecar-api
{{- end }}

{{/*
The Service. Kubernetes gives every pod "<SERVICE>_PORT=tcp://..." variables
for each Service in its namespace: a Service called "flux-sidecar" would set
FLUX_SIDECAR_PORT and break the sidecar's own setting of that name. The "-api"
suffix keeps every such variable ("..._API_PORT", "..._API_SERVICE_HOST")
clear of the FLUX_SIDECAR_* settings.
*/}}
{{- define "flux-sidecar.serviceName" -}}
{{- printf "%s-api" (include "flux-sidecar.fullname" .) }}
{{- end }}

{{/*
The Secret holding the API token and the /v1 token signing key.
*/}}
{{- define "flux-sidecar.secretName" -}}
{{- default (include "flux-sidecar.fullname" .) .Values.auth.existingSecret }}
{{- end }}

{{/*
The sidecar image reference.
*/}}
{{- define "flux-sidecar.image" -}}
{{- printf "%s:%s" .Values.sidecar.image.repository (default .Chart.AppVersion .Values.sidecar.image.tag) }}
{{- end }}

{{/*
Labels of the lead broker pod: the Job the operator creates is named after the
MiniCluster, and an Indexed Job labels each pod with its completion index.
*/}}
{{- define "flux-sidecar.leadPodLabels" -}}
job-name: {{ include "flux-sidecar.miniclusterName" . }}
batch.kubernetes.io/job-completion-index: "0"
{{- end }}

{{/*
Where the Secret is mounted in the sidecar container.
*/}}
{{- define "flux-sidecar.secretMountPath" -}}
/var/run/secrets/flux-sidecar
{{- end }}

{{/*
Whether a Prometheus Operator monitor kind can be rendered: the API exists in
the cluster, or the user forces it.
*/}}
{{- define "flux-sidecar.monitoringApi" -}}
{{- $monitor := index .root.Values.metrics .key }}
{{- if and $monitor.enabled (or $monitor.forceRender (.root.Capabilities.APIVersions.Has (printf "monitoring.coreos.com/v1/%s" .kind))) }}true{{- end }}
{{- end }}
