{{/* The name of the chart, or nameOverride. */}}
{{- define "landlord.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The name every object of this release starts with. "landlord" for a release called landlord
(the usual case), <release>-landlord otherwise, so two releases never collide on a ClusterRole.
*/}}
{{- define "landlord.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "landlord.selectorLabels" -}}
app.kubernetes.io/name: {{ include "landlord.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "landlord.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "landlord.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: landlord
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "landlord.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "landlord.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name the existing ServiceAccount the operator runs as" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The user name the API server sees for the operator's ServiceAccount (RBAC, admission policy). */}}
{{- define "landlord.serviceAccountUser" -}}
system:serviceaccount:{{ .Release.Namespace }}:{{ include "landlord.serviceAccountName" . }}
{{- end -}}

{{- define "landlord.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The label every namespace and child Landlord creates carries (operator/src/controller/labels.ts). */}}
{{- define "landlord.managedLabel" -}}landlord.dev/managed-by{{- end -}}
{{- define "landlord.managedValue" -}}landlord{{- end -}}

{{/*
Rules between values, which a JSON schema can check but not explain: each failure says what was
wrong and how to fix it. Included by deployment.yaml, so `helm template` and `helm install` run it.
*/}}
{{- define "landlord.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicaCount is %v but leaderElection.enabled is false: every replica would reconcile and they would fight over each tenant. Set leaderElection.enabled=true, or replicaCount=1" .Values.replicaCount) }}
{{- end }}
{{- if and (eq .Values.operator.provisioner "pulumi") (not .Values.pulumi.backendUrl) }}
{{- fail "operator.provisioner is pulumi but pulumi.backendUrl is empty: the pulumi provisioner keeps its stack state there. Set pulumi.backendUrl (e.g. s3://my-bucket/landlord), or use operator.provisioner=plan" }}
{{- end }}
{{- if eq (int .Values.metrics.port) (int .Values.health.port) }}
{{- fail (printf "metrics.port and health.port are both %v: the metrics and health servers need a port each. Change one of them" .Values.metrics.port) }}
{{- end }}
{{- end -}}

{{/* The ServiceAccount of the scheduled cost run (costs.enabled). */}}
{{- define "landlord.costsServiceAccountName" -}}
{{- if .Values.costs.serviceAccount.create -}}
{{- default (printf "%s-costs" (include "landlord.fullname" .) | trunc 63 | trimSuffix "-") .Values.costs.serviceAccount.name -}}
{{- else -}}
{{- required "costs.serviceAccount.name is required when costs.serviceAccount.create is false: name the existing ServiceAccount the cost run uses" .Values.costs.serviceAccount.name -}}
{{- end -}}
{{- end -}}
