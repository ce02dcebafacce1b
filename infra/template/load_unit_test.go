package template_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/infra/template"
)

// TestKeepIntrinsics: an intrinsic where goformation expects a string is
// kept as a reference, one where it expects a number is set aside by path,
// and an unknown property still fails the parse.
func TestKeepIntrinsics(t *testing.T) {
	const src = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Burst: {Type: Number, Default: 10}
  Name: {Type: String, Default: t}
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefaultRouteSettings:
        ThrottlingBurstLimit: !Ref Burst
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Ref Name
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
Outputs:
  Arn:
    Value: !GetAtt Table.Arn
`
	tpl, err := template.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := tpl.CFN.GetDynamoDBTableWithName("Table")
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := template.Ref(tbl.TableName); !ok || r != "Name" {
		t.Errorf("TableName = %v, want the reference to Name", template.Decode(tbl.TableName))
	}
	if got := tpl.Intrinsics["Resources.Api.Properties.DefaultRouteSettings.ThrottlingBurstLimit"]; !reflect.DeepEqual(got, map[string]any{"Ref": "Burst"}) {
		t.Errorf("typed intrinsics: %v", tpl.Intrinsics)
	}
	if res, attr, ok := template.GetAtt(tpl.CFN.Outputs["Arn"].Value); !ok || res != "Table" || attr != "Arn" {
		t.Errorf("output: %v", tpl.CFN.Outputs["Arn"].Value)
	}

	_, err = template.Parse([]byte(strings.Replace(src, "TableName:", "TabelName:", 1)))
	if err == nil || !strings.Contains(err.Error(), "TabelName") {
		t.Errorf("a misspelt property: %v", err)
	}
}

// TestParameterDefault: a Default reads as the text CloudFormation would
// substitute, a number without a fraction as an integer.
func TestParameterDefault(t *testing.T) {
	tpl, err := template.Parse([]byte(`
Parameters:
  Big: {Type: Number, Default: 1000000}
  Rate: {Type: String, Default: rate(5 minutes)}
  Flag: {Type: String, Default: false}
  List: {Type: CommaDelimitedList, Default: [a, b]}
Resources:
  T: {Type: AWS::SNS::Topic}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		want string
		ok   bool
	}{
		{name: "Big", want: "1000000", ok: true},
		{name: "Rate", want: "rate(5 minutes)", ok: true},
		{name: "Flag", want: "false", ok: true},
		{name: "List"},
		{name: "Missing"},
	} {
		if got, ok := tpl.ParameterDefault(tt.name); got != tt.want || ok != tt.ok {
			t.Errorf("ParameterDefault(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
