{{/*
kdns as a sidecar, for application charts that depend on this chart (set `kdns.mode: sidecar`).

  {{- include "kdns.sidecar" (dict "root" $ "values" .Values.kdns "part" "container") | nindent 8 }}
  {{- include "kdns.sidecar" (dict "root" $ "values" .Values.kdns "part" "volume") | nindent 8 }}
  {{- include "kdns.sidecar" (dict "root" $ "values" .Values.kdns "part" "configmap") }}

part "container": a list item for spec.containers; "volume": a list item for spec.volumes (the
Corefile ConfigMap); "configmap": the ConfigMap document itself. The kdns subchart renders that
ConfigMap on its own in sidecar mode, so an application chart usually needs only the first two.
*/}}
{{- define "kdns.sidecar.configMapName" -}}
{{- default (printf "%s-kdns-sidecar" .root.Release.Name) .values.sidecar.configMapName | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kdns.sidecar" -}}
{{- $v := .values -}}
{{- if ne $v.mode "sidecar" -}}
{{- fail "kdns.sidecar needs the kdns values with mode: sidecar" -}}
{{- end -}}
{{- if include "kdns.apiAccess" $v -}}
{{- fail "sidecar mode has no RBAC: its Corefile must not use the kubernetes plugin" -}}
{{- end -}}
{{- $cm := include "kdns.sidecar.configMapName" . -}}
{{- if eq .part "container" -}}
{{- $appVersion := .root.Chart.AppVersion -}}
{{- if ne .root.Chart.Name "kdns" -}}
{{- with .root.Subcharts -}}{{- with index . "kdns" -}}{{- $appVersion = .Chart.AppVersion -}}{{- end -}}{{- end -}}
{{- end -}}
- name: {{ $v.sidecar.name }}
  image: "{{ $v.image.repository }}:{{ default $appVersion $v.image.tag }}"
  imagePullPolicy: {{ $v.image.pullPolicy }}
  args:
    - -conf
    - /etc/kdns/Corefile
    {{- with $v.extraArgs }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  ports:
    {{- include "kdns.containerPorts" $v | trim | nindent 4 }}
  {{- include "kdns.probes" (dict "values" $v) | trim | nindent 2 }}
  resources:
    {{- toYaml $v.resources | nindent 4 }}
  securityContext:
    {{- toYaml $v.securityContext | nindent 4 }}
  volumeMounts:
    - name: {{ $cm }}
      mountPath: /etc/kdns
      readOnly: true
{{- else if eq .part "volume" -}}
- name: {{ $cm }}
  configMap:
    name: {{ $cm }}
    items:
      - key: Corefile
        path: Corefile
{{- else if eq .part "configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $cm }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    app.kubernetes.io/name: kdns
    app.kubernetes.io/instance: {{ .root.Release.Name }}
    app.kubernetes.io/component: sidecar
    app.kubernetes.io/managed-by: {{ .root.Release.Service }}
data:
  Corefile: |-
    {{- include "kdns.corefile" $v | nindent 4 }}
{{- else -}}
{{- fail (printf "kdns.sidecar: part must be container, volume or configmap, not %q" .part) -}}
{{- end -}}
{{- end -}}
