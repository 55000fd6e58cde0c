{{/* The chart name, or nameOverride. */}}
{{- define "podgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name: fullnameOverride, else <release>-<name>, else <release> when it contains the name. */}}
{{- define "podgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "podgate.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "podgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "podgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end }}

{{- define "podgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "podgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: podgate
{{- end }}

{{/* The Secret holding the serving certificate (tls.crt, tls.key, ca.crt). */}}
{{- define "podgate.tlsSecret" -}}
{{ include "podgate.fullname" . }}-tls
{{- end }}

{{- define "podgate.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "podgate.sidecarImage" -}}
{{- default (printf "ghcr.io/podgate/podgate:%s" .Chart.AppVersion) .Values.settings.sidecar.image }}
{{- end }}

{{/* The iptables init container's image: the sidecar image has no shell, so capture has its own. */}}
{{- define "podgate.captureImage" -}}
{{- default (printf "ghcr.io/podgate/podgate-capture:%s" .Chart.AppVersion) .Values.settings.captureImage }}
{{- end }}

{{/*
The namespaces the webhooks never see: the system namespaces, the release's own (the webhook must
start even when it is down) and any listed in webhook.excludedNamespaces.
*/}}
{{- define "podgate.excludedNamespaces" -}}
{{- $names := list "kube-system" "kube-public" "kube-node-lease" .Release.Namespace }}
{{- toJson (uniq (concat $names .Values.webhook.excludedNamespaces)) }}
{{- end }}

{{/*
The namespaceSelector of one webhook entry. Call with (dict "root" $ "zone" true|false): the zone
entry selects namespaces with a podgate.io/zone label, the general entry those without, so no
namespace is sent to both.
*/}}
{{- define "podgate.namespaceSelector" -}}
namespaceSelector:
  matchExpressions:
    {{- if not .root.Values.settings.allowPodOptIn }}
    - key: podgate.io/inject
      operator: In
      values: ["enabled"]
    {{- end }}
    - key: podgate.io/zone
      operator: {{ ternary "Exists" "DoesNotExist" .zone }}
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values: {{ include "podgate.excludedNamespaces" .root }}
{{- end }}

{{/* The API server's way to the webhook Service; the caBundle is left to cert-manager or the webhook. */}}
{{- define "podgate.clientConfig" -}}
clientConfig:
  service:
    name: {{ include "podgate.fullname" .root }}
    namespace: {{ .root.Release.Namespace }}
    path: {{ .path }}
    port: {{ .root.Values.service.port }}
{{- end }}

{{/* cert-manager's CA injector writes the caBundle from the serving Certificate: no drift. */}}
{{- define "podgate.webhookAnnotations" -}}
cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/{{ include "podgate.tlsSecret" . }}
{{- end }}

{{/*
The webhook's arguments. Self-managed TLS adds the names the webhook needs to keep its certificate:
the Secret, both webhook configurations (for their caBundle), and the Service and namespace (the
certificate's DNS names).
*/}}
{{- define "podgate.webhookArgs" -}}
{{- $fullname := include "podgate.fullname" . -}}
- webhook
- --tls-cert
- /etc/podgate/tls/tls.crt
- --tls-key
- /etc/podgate/tls/tls.key
- --port
- "8443"
- --settings
- /etc/podgate/settings/settings.yaml
{{- if not .Values.certManager.enabled }}
- --manage-certificates
- --certificate-secret
- {{ include "podgate.tlsSecret" . }}
- --mutating-webhook
- {{ $fullname }}
- --validating-webhook
- {{ $fullname }}
- --service
- {{ $fullname }}
- --namespace
- {{ .Release.Namespace }}
{{- end }}
{{- end }}
