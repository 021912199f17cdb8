//! Every rule of the tool model, checked through the public parser.

use hookline_schema::{export, DestinationPolicy, ExportFormat, ToolDefinition, Violations};
use proptest::prelude::*;
use serde_json::{json, Value};

const SEED_TOOLS: [&str; 5] = [
    include_str!("../../../examples/tools/check_order_status.json"),
    include_str!("../../../examples/tools/create_support_ticket.json"),
    include_str!("../../../examples/tools/update_contact_info.json"),
    include_str!("../../../examples/tools/get_weather.json"),
    include_str!("../../../examples/tools/check_product_availability.json"),
];

fn prod() -> DestinationPolicy {
    DestinationPolicy::production(vec![])
}

fn parse(value: Value) -> Result<ToolDefinition, Violations> {
    ToolDefinition::parse(&value, "", &prod())
}

fn webhook() -> Value {
    json!({
        "type": "server", "subtype": "webhook", "name": "check_order_status",
        "description": "Check an order", "url": "https://api.yourstore.com/orders/{orderId}",
        "method": "post", "headers": {"Authorization": "Bearer abc"},
        "parameters": {"type": "object", "properties": {"orderId": {"type": "string"}}, "required": ["orderId"]}
    })
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

/// The fields named by the problems found in `value`.
fn fields(value: Value) -> Vec<String> {
    parse(value)
        .expect_err("should be refused")
        .errors()
        .iter()
        .map(|e| e.field.clone())
        .collect()
}

#[test]
fn every_seed_tool_parses_verbatim() {
    for text in SEED_TOOLS {
        let value: Value = serde_json::from_str(text).unwrap();
        let tool = parse(value.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tool.name(), value["name"]);
        let shown = tool.to_json();
        for key in [
            "type",
            "subtype",
            "name",
            "description",
            "url",
            "method",
            "parameters",
            "awaitResponse",
            "headers",
        ] {
            assert_eq!(shown[key], value[key], "{key}");
        }
        assert_eq!(shown["timeoutSeconds"], 60);
    }
}

#[test]
fn defaults_and_normalisation() {
    let mut value = webhook();
    value.as_object_mut().unwrap().remove("method");
    let ToolDefinition::Server(tool) = parse(value).unwrap() else {
        panic!()
    };
    assert_eq!(tool.method.as_str(), "POST");
    assert!(tool.await_response);
    assert!(!tool.disable_interruptions);
    let ToolDefinition::Server(tool) = parse(with(webhook(), "method", json!("patch"))).unwrap()
    else {
        panic!()
    };
    assert_eq!(tool.method.as_str(), "PATCH");
}

#[test]
fn each_rule_names_its_field() {
    let cases: Vec<(Value, &str)> = vec![
        (with(webhook(), "type", json!("webhook")), "type"),
        (with(webhook(), "subtype", json!("grpc")), "subtype"),
        (with(webhook(), "name", json!("CheckOrder")), "name"),
        (with(webhook(), "name", json!("")), "name"),
        (with(webhook(), "name", json!("a".repeat(65))), "name"),
        (with(webhook(), "description", json!("   ")), "description"),
        (
            with(webhook(), "description", json!("é".repeat(1025))),
            "description",
        ),
        (with(webhook(), "url", json!("ftp://x.com/")), "url"),
        (with(webhook(), "url", json!("http://x.com/")), "url"),
        (with(webhook(), "url", json!("https://u:p@x.com/")), "url"),
        (with(webhook(), "url", json!("https://127.0.0.1/")), "url"),
        (
            with(webhook(), "url", json!("https://x.com/{missing}")),
            "url",
        ),
        (with(webhook(), "method", json!("TRACE")), "method"),
        (
            with(webhook(), "headers", json!({"Host": "x"})),
            "headers.Host",
        ),
        (
            with(webhook(), "headers", json!({"webhook-signature": "x"})),
            "headers.webhook-signature",
        ),
        (
            with(webhook(), "headers", json!({"Bad Name": "x"})),
            "headers.Bad Name",
        ),
        (
            with(webhook(), "headers", json!({"X-A": "a\r\nX-B: b"})),
            "headers.X-A",
        ),
        (
            with(webhook(), "headers", json!({"X-A": "a".repeat(8193)})),
            "headers.X-A",
        ),
        (
            with(webhook(), "headers", json!({"X-A": "••••1234"})),
            "headers.X-A",
        ),
        (
            with(webhook(), "parameters", json!({"type": "array"})),
            "parameters.type",
        ),
        (
            with(
                webhook(),
                "parameters",
                json!({"type": "object", "properties": {"orderId": {"$ref": "http://evil/x"}}}),
            ),
            "parameters.properties.orderId.$ref",
        ),
        (
            with(
                webhook(),
                "queryParameters",
                json!({"type": "object", "properties": {"orderId": {"type": "string"}}}),
            ),
            "queryParameters.properties.orderId",
        ),
        (
            with(webhook(), "timeoutSeconds", json!(61)),
            "timeoutSeconds",
        ),
        (
            with(webhook(), "timeoutSeconds", json!(0)),
            "timeoutSeconds",
        ),
        (with(webhook(), "awaitRespose", json!(true)), "awaitRespose"),
        (
            json!({"type": "client", "name": "show_product", "description": "d", "resultTimeoutSeconds": 601}),
            "resultTimeoutSeconds",
        ),
        (
            json!({"type": "client", "name": "show_product", "description": "d", "awaitResponse": true}),
            "awaitResponse",
        ),
        (json!({"type": "system", "name": "hang_up"}), "name"),
    ];
    for (value, field) in cases {
        assert_eq!(fields(value.clone()), [field], "{value}");
    }
}

fn knowledge() -> Value {
    json!({
        "type": "server", "subtype": "knowledge", "name": "help_center",
        "description": "Search the help center",
        "documentFolderIds": ["0190f0f0-0000-7000-8000-000000000001", "0190f0f0-0000-7000-8000-000000000002"],
        "limit": 3
    })
}

#[test]
fn a_knowledge_tool_takes_its_own_fields_and_shows_only_them() {
    let tool = parse(knowledge()).unwrap();
    assert_eq!(tool.subtype(), Some("knowledge"));
    assert_eq!(tool.to_json(), knowledge());
    // As stored and read back (the session snapshot, the tools table): the same tool.
    let back: ToolDefinition = serde_json::from_value(tool.to_json()).unwrap();
    assert_eq!(back, tool);
    // The LLM fills one string, `query`.
    let declared = export(&tool, ExportFormat::Mcp);
    assert_eq!(declared["name"], "help_center");
    assert_eq!(declared["inputSchema"]["required"], json!(["query"]));
    assert_eq!(
        declared["inputSchema"]["properties"]["query"]["type"],
        "string"
    );

    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            with(knowledge(), "documentFolderIds", json!([])),
            vec!["documentFolderIds"],
        ),
        (
            with(
                knowledge(),
                "documentFolderIds",
                json!(["0190f0f0-0000-7000-8000-000000000001", "nope"]),
            ),
            vec!["documentFolderIds[1]"],
        ),
        (
            with(
                knowledge(),
                "documentFolderIds",
                json!([
                    "0190f0f0-0000-7000-8000-000000000001",
                    "0190f0f0-0000-7000-8000-000000000001"
                ]),
            ),
            vec!["documentFolderIds[1]"],
        ),
        (
            with(knowledge(), "documentFolderIds", json!("x")),
            vec!["documentFolderIds"],
        ),
        (with(knowledge(), "limit", json!(0)), vec!["limit"]),
        (with(knowledge(), "limit", json!(21)), vec!["limit"]),
        (
            with(knowledge(), "url", json!("https://x.com/")),
            vec!["url"],
        ),
        (
            with(knowledge(), "parameters", json!({"type": "object"})),
            vec!["parameters"],
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(fields(value.clone()), expected, "{value}");
    }
    let mut without = knowledge();
    without.as_object_mut().unwrap().remove("documentFolderIds");
    without.as_object_mut().unwrap().remove("limit");
    assert_eq!(fields(without.clone()), ["documentFolderIds"]);
}

#[test]
fn too_many_headers() {
    let headers: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("X-H{i}"), json!("v"))).collect();
    assert_eq!(
        fields(with(webhook(), "headers", Value::Object(headers))),
        ["headers"]
    );
}

#[test]
fn unknown_fields_suggest_the_right_one() {
    let err = parse(with(webhook(), "awaitRespose", json!(true))).unwrap_err();
    assert!(err.errors()[0].message.contains("awaitResponse"), "{err}");
}

#[test]
fn wrong_types_are_all_listed_as_type_errors() {
    let mut value = webhook();
    value["name"] = json!(5);
    value["awaitResponse"] = json!("yes");
    value["headers"] = json!({"X-A": 1});
    let err = parse(value).unwrap_err();
    assert!(err.has_type_errors());
    let fields: Vec<_> = err.errors().iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["name", "headers.X-A", "awaitResponse"]);
}

#[test]
fn several_problems_are_reported_together_with_a_prefix() {
    let value = json!({"type": "server", "subtype": "webhook", "name": "Bad-Name", "url": "nope", "method": "FETCH"});
    let err = ToolDefinition::parse(&value, "personaConfig.tools[2]", &prod()).unwrap_err();
    let fields: Vec<_> = err.errors().iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "personaConfig.tools[2].name",
            "personaConfig.tools[2].description",
            "personaConfig.tools[2].url",
            "personaConfig.tools[2].method"
        ]
    );
    assert!(!err.has_type_errors());
}

#[test]
fn missing_fields_are_required() {
    assert_eq!(
        fields(json!({"type": "server"})),
        ["subtype", "name", "description", "url"]
    );
    assert_eq!(fields(json!({})), ["type"]);
    assert_eq!(fields(json!([1])), [""]);
}

#[test]
fn client_and_system_tools() {
    let client = parse(json!({"type": "client", "name": "show_product", "description": "Show a product", "parameters": {"type": "object", "properties": {"sku": {"type": "string"}}}, "awaitResult": true})).unwrap();
    assert_eq!(client.to_json()["resultTimeoutSeconds"], 10);
    assert_eq!(client.to_json()["awaitResult"], true);
    let system = parse(json!({"type": "system", "name": "end_call"})).unwrap();
    assert_eq!(system.tool_type(), "system");
    assert!(!system.description().is_empty());
}

#[test]
fn development_mode_opens_http_and_loopback() {
    let value = with(
        webhook(),
        "url",
        json!("http://localhost:3000/orders/{orderId}"),
    );
    assert!(parse(value.clone()).is_err());
    assert!(ToolDefinition::parse(&value, "", &DestinationPolicy::development()).is_ok());
    let allowed = DestinationPolicy::production(vec!["127.0.0.1/32".parse().unwrap()]);
    let literal = with(
        webhook(),
        "url",
        json!("http://127.0.0.1:3000/orders/{orderId}"),
    );
    assert!(ToolDefinition::parse(&literal, "", &allowed).is_ok());
}

#[test]
fn exports_merge_body_and_query_parameters() {
    let mut value = webhook();
    value["queryParameters"] = json!({"type": "object", "properties": {"verbose": {"type": "boolean"}}, "required": ["verbose"]});
    let tool = parse(value).unwrap();
    let openai = export(&tool, ExportFormat::Openai);
    assert_eq!(openai["type"], "function");
    let params = &openai["function"]["parameters"];
    assert!(params["properties"]["orderId"].is_object());
    assert!(params["properties"]["verbose"].is_object());
    assert_eq!(params["required"], json!(["orderId", "verbose"]));
    assert_eq!(
        &export(&tool, ExportFormat::Anthropic)["input_schema"],
        params
    );
    assert_eq!(&export(&tool, ExportFormat::Mcp)["inputSchema"], params);
    let responses = export(&tool, ExportFormat::OpenaiResponses);
    assert_eq!(
        responses,
        json!({"type": "function", "name": "check_order_status",
               "description": tool.description(), "parameters": params})
    );
    assert_eq!(
        ExportFormat::parse("openai-responses"),
        Some(ExportFormat::OpenaiResponses)
    );
}

#[test]
fn stored_form_round_trips() {
    for text in SEED_TOOLS {
        let tool = parse(serde_json::from_str(text).unwrap()).unwrap();
        let back: ToolDefinition = serde_json::from_value(tool.to_json()).unwrap();
        assert_eq!(back, tool);
    }
}

proptest! {
    // The parser never panics, whatever JSON it is given.
    #[test]
    fn parser_never_panics(value in arb_json()) {
        let _ = ToolDefinition::parse(&value, "", &prod());
    }

    // Any valid definition survives being shown and parsed again unchanged.
    #[test]
    fn shown_definitions_parse_again(name in "[a-z][a-z0-9]{0,9}(_[a-z0-9]{1,5}){0,3}", desc in "[a-zA-Z ]{0,20}[a-z]", timeout in 1u32..=60) {
        let value = json!({"type": "server", "subtype": "webhook", "name": name, "description": desc, "url": "https://api.example.com/x", "timeoutSeconds": timeout});
        let tool = parse(value).unwrap();
        prop_assert_eq!(parse(tool.to_json()).unwrap(), tool);
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z_{}/:.]{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("server"),
            Just("webhook"),
            Just("client"),
            Just("system"),
            Just("https://x.com/{id}")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_string()),
                    Just("subtype".to_string()),
                    Just("name".to_string()),
                    Just("url".to_string()),
                    Just("headers".to_string()),
                    Just("parameters".to_string()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Both schemas' `$defs` survive the merge, so every `$ref` of the exported schema resolves and
/// arguments using either validate; colliding names are refused naming the field.
#[test]
fn definitions_of_body_and_query_parameters_are_merged_without_collisions() {
    let mut value = webhook();
    value["parameters"] = json!({"type": "object", "$defs": {"id": {"type": "string", "minLength": 2}},
        "properties": {"orderId": {"$ref": "#/$defs/id"}}, "required": ["orderId"]});
    value["queryParameters"] = json!({"type": "object", "$defs": {"page": {"type": "integer", "minimum": 1}},
        "properties": {"page": {"$ref": "#/$defs/page"}}});
    let tool = parse(value.clone()).unwrap();
    let merged = tool.llm_parameters();
    assert_eq!(
        &export(&tool, ExportFormat::Openai)["function"]["parameters"],
        &merged
    );
    assert_eq!(
        &export(&tool, ExportFormat::Anthropic)["input_schema"],
        &merged
    );
    assert_eq!(&export(&tool, ExportFormat::Mcp)["inputSchema"], &merged);
    assert!(merged.pointer("/$defs/id").is_some() && merged.pointer("/$defs/page").is_some());
    let validator = hookline_schema::ArgumentValidator::new(Some(&merged)).unwrap();
    assert!(validator
        .validate(&json!({"orderId": "A1", "page": 2}))
        .is_empty());
    assert_eq!(
        validator
            .validate(&json!({"orderId": "A", "page": 0}))
            .len(),
        2
    );

    // The same name with the same content is one definition; with other content, refused.
    value["queryParameters"]["$defs"]["id"] = json!({"type": "string", "minLength": 2});
    assert!(parse(value.clone()).is_ok());
    value["queryParameters"]["$defs"]["id"] = json!({"type": "integer"});
    assert_eq!(fields(value), ["queryParameters.$defs.id"]);
}

#[test]
fn a_whole_number_written_with_a_fraction_is_an_integer() {
    // JSON Schema's `integer` takes 30.0 and 3e1: so does the parser, by value.
    for written in [json!(30.0), json!(3e1)] {
        match parse(with(webhook(), "timeoutSeconds", written)).unwrap() {
            ToolDefinition::Server(tool) => assert_eq!(tool.timeout_seconds, 30),
            other => panic!("not a webhook: {other:?}"),
        }
    }
    // Out of range is a broken rule (422), not a wrong type (400); a real fraction stays a type error.
    let too_long = parse(with(webhook(), "timeoutSeconds", json!(60588220.0))).unwrap_err();
    assert!(!too_long.has_type_errors(), "{too_long:?}");
    assert_eq!(too_long.errors()[0].field, "timeoutSeconds");
    let beyond_i64 = parse(with(webhook(), "timeoutSeconds", json!(u64::MAX))).unwrap_err();
    assert!(!beyond_i64.has_type_errors(), "{beyond_i64:?}");
    let fraction = parse(with(webhook(), "timeoutSeconds", json!(1.5))).unwrap_err();
    assert!(fraction.has_type_errors(), "{fraction:?}");
}
