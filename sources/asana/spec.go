package asana

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// variantTitles are the titles Airbyte's setup form shows for the two kinds
// of credentials, OAuth first (Airbyte's acceptance tests require that).
var variantTitles = []struct{ optionTitle, title string }{
	{OAuthCredentials, "Authenticate via Asana (Oauth)"},
	{PATCredentials, "Authenticate with Personal Access Token"},
}

// ConnectionSpecification returns the JSON Schema of [Config] that
// Airbyte's spec command carries, generated from the struct's tags.
func ConnectionSpecification() map[string]any {
	props := map[string]any{}
	for _, f := range configStructFields() {
		if f.name == "credentials" {
			props[f.name] = credentialsSchema(f)
			continue
		}
		props[f.name] = fieldSchema(f)
	}
	return map[string]any{
		"$schema":              "http://json-schema.org/draft-07/schema#",
		"title":                "Asana Spec",
		"type":                 "object",
		"required":             []string{"credentials"},
		"additionalProperties": true,
		"properties":           props,
	}
}

// specField is one tagged field of Config or Credentials.
type specField struct {
	name string
	typ  reflect.Type
	tag  reflect.StructTag
}

func structFields(t reflect.Type) []specField {
	var out []specField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, specField{name: name, typ: f.Type, tag: f.Tag})
	}
	return out
}

func configStructFields() []specField { return structFields(reflect.TypeFor[Config]()) }

// jsonType is the JSON Schema type of a Go type.
func jsonType(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Slice:
		return "array"
	case reflect.Struct:
		return "object"
	}
	return "string"
}

// value parses a tag value as the field's JSON type.
func value(t reflect.Type, s string) any {
	switch jsonType(t) {
	case "integer":
		n, err := strconv.Atoi(s)
		if err != nil {
			panic(fmt.Sprintf("asana: tag value %q is not an integer", s))
		}
		return n
	case "boolean":
		return s == "true"
	}
	return s
}

func fieldSchema(f specField) map[string]any {
	m := map[string]any{"type": jsonType(f.typ)}
	for _, k := range []string{"title", "description"} {
		if v := f.tag.Get(k); v != "" {
			m[k] = v
		}
	}
	if v := f.tag.Get("order"); v != "" {
		m["order"] = value(reflect.TypeFor[int](), v)
	}
	if v := f.tag.Get("default"); v != "" {
		m["default"] = value(f.typ, v)
	}
	for _, k := range []string{"minimum", "maximum"} {
		if v := f.tag.Get(k); v != "" {
			m[k] = value(reflect.TypeFor[int](), v)
		}
	}
	if v := f.tag.Get("format"); v != "" {
		m["format"] = v
		if v == "date-time" {
			m["pattern"] = dateTimePattern
			m["pattern_descriptor"] = "YYYY-MM-DDTHH:mm:ssZ"
		}
	}
	if f.typ.Kind() == reflect.Slice {
		m["items"] = map[string]any{"type": "string"}
	}
	if v := f.tag.Get("examples"); v != "" {
		var ex []any
		for _, e := range strings.Split(v, ",") {
			if f.typ.Kind() == reflect.Slice {
				ex = append(ex, []string{e})
			} else {
				ex = append(ex, value(f.typ, e))
			}
		}
		m["examples"] = ex
	}
	if f.typ == reflect.TypeFor[Secret]() {
		m["airbyte_secret"] = true
	}
	return m
}

func credentialsSchema(f specField) map[string]any {
	var variants []any
	fields := structFields(reflect.TypeFor[Credentials]())
	for _, v := range variantTitles {
		props := map[string]any{}
		var required []string
		for _, cf := range fields {
			switch cf.tag.Get("variant") {
			case "":
				s := fieldSchema(cf)
				s["const"] = v.optionTitle
				s["default"] = v.optionTitle
				s["order"] = 0
				props[cf.name] = s
			case v.optionTitle:
				s := fieldSchema(cf)
				s["order"] = len(props)
				props[cf.name] = s
				required = append(required, cf.name)
			}
		}
		variants = append(variants, map[string]any{"type": "object", "title": v.title,
			"required": required, "properties": props})
	}
	m := fieldSchema(f)
	m["oneOf"] = variants
	return m
}

// Spec returns the ConnectorSpecification of the spec command.
func Spec() json.RawMessage {
	spec := map[string]any{
		"documentationUrl":        "https://docs.airbyte.com/integrations/sources/asana",
		"connectionSpecification": ConnectionSpecification(),
		"advanced_auth": map[string]any{
			"auth_flow_type":  "oauth2.0",
			"predicate_key":   []string{"credentials", "option_title"},
			"predicate_value": OAuthCredentials,
			"oauth_config_specification": map[string]any{
				"complete_oauth_output_specification": map[string]any{"type": "object", "properties": map[string]any{
					"refresh_token": map[string]any{"type": "string", "path_in_connector_config": []string{"credentials", "refresh_token"}}}},
				"complete_oauth_server_input_specification": map[string]any{"type": "object", "properties": map[string]any{
					"client_id": map[string]any{"type": "string"}, "client_secret": map[string]any{"type": "string"}}},
				"complete_oauth_server_output_specification": map[string]any{"type": "object", "properties": map[string]any{
					"client_id":     map[string]any{"type": "string", "path_in_connector_config": []string{"credentials", "client_id"}},
					"client_secret": map[string]any{"type": "string", "path_in_connector_config": []string{"credentials", "client_secret"}}}},
				"oauth_connector_input_specification": map[string]any{
					"consent_url":      "https://app.asana.com/-/oauth_authorize?{{client_id_param}}&{{redirect_uri_param}}&response_type=code&{{state_param}}",
					"access_token_url": "https://app.asana.com/-/oauth_token",
					"extract_output":   []string{"refresh_token"},
				},
			},
		},
	}
	b, err := json.Marshal(spec)
	if err != nil {
		panic("asana: encoding the spec: " + err.Error())
	}
	return b
}

// ConfigTable returns the Markdown table of the configuration fields that
// the README shows, generated from the same tags as the spec.
func ConfigTable() string {
	var b strings.Builder
	b.WriteString("| field | type | default | description |\n|---|---|---|---|\n")
	row := func(name, typ, def, desc string) {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", name, typ, def, desc)
	}
	for _, f := range configStructFields() {
		if f.name == "credentials" {
			for _, cf := range structFields(reflect.TypeFor[Credentials]()) {
				desc := cf.tag.Get("description")
				if v := cf.tag.Get("variant"); v != "" {
					desc += " (" + v + ", secret)"
				} else {
					desc += fmt.Sprintf(" `%s` or `%s`.", OAuthCredentials, PATCredentials)
				}
				row("credentials."+cf.name, jsonType(cf.typ), "", desc)
			}
			continue
		}
		def := f.tag.Get("default")
		if def != "" {
			def = "`" + def + "`"
		}
		row(f.name, jsonType(f.typ), def, f.tag.Get("description"))
	}
	return b.String()
}
