{{/* Names */}}
{{- define "kdns.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kdns.fullname" -}}
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

{{- define "kdns.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable across upgrades (selectors are immutable). */}}
{{- define "kdns.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kdns.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- if and (eq .Values.mode "clusterDNS") .Values.isClusterService }}
k8s-app: {{ default (include "kdns.name" .) .Values.k8sAppLabelOverride }}
{{- end }}
{{- end -}}

{{- define "kdns.labels" -}}
helm.sh/chart: {{ include "kdns.chart" . }}
{{ include "kdns.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- if and (eq .Values.mode "clusterDNS") .Values.isClusterService }}
kubernetes.io/cluster-service: "true"
kubernetes.io/name: "kdns"
{{- end }}
{{- with .Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "kdns.annotations" -}}
{{- with .Values.customAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "kdns.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kdns.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kdns.clusterRoleName" -}}
{{- default (include "kdns.fullname" .) .Values.rbac.clusterRoleName -}}
{{- end -}}

{{- define "kdns.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if eq .Values.mode "nodeLocal" -}}{{- $tag = printf "%s%s" $tag .Values.nodeLocal.imageTagSuffix -}}{{- end -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}

{{- define "kdns.priorityClassName" -}}
{{- if .Values.priorityClassName -}}
{{- .Values.priorityClassName -}}
{{- else if eq .Values.mode "nodeLocal" -}}
system-node-critical
{{- else -}}
system-cluster-critical
{{- end -}}
{{- end -}}

{{/*
The Corefile source for the mode: a dict with "servers", "corefile", "ports", "extraConfig".
Call with the chart's values.
*/}}
{{- define "kdns.source" -}}
{{- if eq .mode "nodeLocal" -}}
{{- toJson (dict "servers" .nodeLocal.servers "corefile" .nodeLocal.corefile "ports" .nodeLocal.ports "extraConfig" "") -}}
{{- else if eq .mode "sidecar" -}}
{{- toJson (dict "servers" .sidecar.servers "corefile" .sidecar.corefile "ports" .sidecar.ports "extraConfig" "") -}}
{{- else -}}
{{- toJson (dict "servers" .servers "corefile" .corefile "ports" .ports "extraConfig" .extraConfig) -}}
{{- end -}}
{{- end -}}

{{/* The Corefile text. Call with the chart's values. */}}
{{- define "kdns.corefile" -}}
{{- $src := include "kdns.source" . | fromJson -}}
{{- if $src.corefile -}}
{{- $src.corefile -}}
{{- else -}}
{{- range $server := $src.servers }}
{{- range $i, $zone := $server.zones -}}
{{- if $i }} {{ end -}}
{{- default "" $zone.scheme -}}{{- default "." $zone.zone -}}{{- if $server.port -}}:{{ int $server.port }}{{- end -}}
{{- end }} {
{{- range $plugin := $server.plugins }}
    {{ $plugin.name }}{{ if $plugin.parameters }} {{ $plugin.parameters }}{{ end }}{{ if $plugin.configBlock }} {
{{ $plugin.configBlock | indent 8 }}
    }{{ end }}
{{- end }}
}
{{ end }}
{{- with $src.extraConfig }}
{{ . }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
The ports the Corefile listens on, as a JSON list of {name, containerPort, servicePort, protocol}.
DNS ports come from servers[].port (UDP and TCP; kdns serves dns:// only), the
metrics port from the prometheus plugin's address. A raw Corefile brings its own `ports`.
Call with the chart's values.
*/}}
{{- define "kdns.ports" -}}
{{- $src := include "kdns.source" . | fromJson -}}
{{- $ports := list -}}
{{- if $src.corefile -}}
{{- if not $src.ports -}}
{{- fail "a raw corefile needs `ports` (name, containerPort, servicePort, protocol) listing what it listens on" -}}
{{- end -}}
{{- range $p := $src.ports -}}
{{- $ports = append $ports (dict "name" $p.name "containerPort" (int $p.containerPort) "servicePort" (int (default $p.containerPort $p.servicePort)) "protocol" (default "UDP" $p.protocol)) -}}
{{- end -}}
{{- else -}}
{{- $seen := dict -}}
{{- $first := true -}}
{{- range $server := $src.servers -}}
{{- $port := int (default 53 $server.port) -}}
{{- $svcPort := int (default $port $server.servicePort) -}}
{{- if not (hasKey $seen (toString $port)) -}}
{{- $_ := set $seen (toString $port) true -}}
{{- $udpName := ternary "dns" (printf "dns-%d" $port) $first -}}
{{- $tcpName := ternary "dns-tcp" (printf "dns-tcp-%d" $port) $first -}}
{{- $first = false -}}
{{- $ports = append $ports (dict "name" $udpName "containerPort" $port "servicePort" $svcPort "protocol" "UDP") -}}
{{- $ports = append $ports (dict "name" $tcpName "containerPort" $port "servicePort" $svcPort "protocol" "TCP") -}}
{{- end -}}
{{- end -}}
{{- $metrics := 0 -}}
{{- range $server := $src.servers -}}
{{- range $plugin := $server.plugins -}}
{{- if and (eq $plugin.name "prometheus") (not $metrics) -}}
{{- $addr := toString (default ":9153" $plugin.parameters) | trim -}}
{{- $metrics = int (regexReplaceAll "^.*:" $addr "") -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $metrics -}}
{{- $ports = append $ports (dict "name" "metrics" "containerPort" $metrics "servicePort" $metrics "protocol" "TCP") -}}
{{- end -}}
{{- end -}}
{{- toJson $ports -}}
{{- end -}}

{{/* The metrics port number, or 0. Call with the chart's values. */}}
{{- define "kdns.metricsPort" -}}
{{- $m := 0 -}}
{{- range $p := include "kdns.ports" . | fromJsonArray -}}
{{- if eq $p.name "metrics" -}}{{- $m = $p.containerPort -}}{{- end -}}
{{- end -}}
{{- int $m -}}
{{- end -}}

{{/*
Which API objects the kubernetes plugin reads: "" (no kubernetes plugin), "base" (services,
endpointslices, namespaces) or "pods" (base plus pods, for `pods verified`). Call with the chart's values.
*/}}
{{- define "kdns.apiAccess" -}}
{{- $src := include "kdns.source" . | fromJson -}}
{{- $access := "" -}}
{{- if $src.corefile -}}
{{- if regexMatch "(?m)^\\s*kubernetes(\\s|$)" $src.corefile -}}
{{- $access = "base" -}}
{{- if regexMatch "(?m)^\\s*pods\\s+verified\\s*$" $src.corefile -}}{{- $access = "pods" -}}{{- end -}}
{{- end -}}
{{- else -}}
{{- range $server := $src.servers -}}
{{- range $plugin := $server.plugins -}}
{{- if eq $plugin.name "kubernetes" -}}
{{- if ne $access "pods" -}}{{- $access = "base" -}}{{- end -}}
{{- if regexMatch "(?m)^\\s*pods\\s+verified\\s*$" (default "" $plugin.configBlock) -}}{{- $access = "pods" -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $access -}}
{{- end -}}

{{/* True when the chart should render RBAC objects. */}}
{{- define "kdns.rbacEnabled" -}}
{{- if and .Values.rbac.create (eq .Values.mode "clusterDNS") (include "kdns.apiAccess" .Values) -}}true{{- end -}}
{{- end -}}

{{/* Pod-level container for clusterDNS mode (also the base of the sidecar container). */}}
{{- define "kdns.probes" -}}
{{- $v := .values -}}
{{- if $v.livenessProbe.enabled }}
livenessProbe:
  httpGet:
    {{- with .host }}
    host: {{ . }}
    {{- end }}
    path: /health
    port: 8080
    scheme: HTTP
  initialDelaySeconds: {{ $v.livenessProbe.initialDelaySeconds }}
  periodSeconds: {{ $v.livenessProbe.periodSeconds }}
  timeoutSeconds: {{ $v.livenessProbe.timeoutSeconds }}
  failureThreshold: {{ $v.livenessProbe.failureThreshold }}
  successThreshold: {{ $v.livenessProbe.successThreshold }}
{{- end }}
{{- if $v.readinessProbe.enabled }}
readinessProbe:
  httpGet:
    {{- with .host }}
    host: {{ . }}
    {{- end }}
    path: /ready
    port: 8181
    scheme: HTTP
  initialDelaySeconds: {{ $v.readinessProbe.initialDelaySeconds }}
  periodSeconds: {{ $v.readinessProbe.periodSeconds }}
  timeoutSeconds: {{ $v.readinessProbe.timeoutSeconds }}
  failureThreshold: {{ $v.readinessProbe.failureThreshold }}
  successThreshold: {{ $v.readinessProbe.successThreshold }}
{{- end }}
{{- end -}}

{{/* containerPorts for a pod spec. Call with the chart's values. */}}
{{- define "kdns.containerPorts" -}}
{{- $host := eq .mode "nodeLocal" -}}
{{- range $p := include "kdns.ports" . | fromJsonArray }}
- name: {{ $p.name }}
  containerPort: {{ int $p.containerPort }}
  {{- if $host }}
  hostPort: {{ int $p.containerPort }}
  {{- end }}
  protocol: {{ $p.protocol }}
{{- end }}
{{- end -}}
