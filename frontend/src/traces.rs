//! `--otlp-endpoint URL`: every request as a trace (its root span and phase spans, placed from
//! its tracker's stamps by [`reqtrack::otel`]), exported with OTLP over HTTP/protobuf by the
//! SDK's batch processor (its own thread, the blocking HTTP client; `OTEL_BSP_*` variables tune
//! it). Off by default. The sampler is the SDK's default, parent-based, always on for a new
//! trace: a request whose `traceparent` is not sampled is not traced.
//!
//! `URL` is the full traces URL, as `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is: for an
//! OpenTelemetry Collector, its `otlp` receiver's `http` protocol, port 4318, path
//! `/v1/traces` (`http://collector:4318/v1/traces`).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use reqtrack::otel::RequestTracer;
use std::sync::Arc;

/// The resource's `service.name`, and the tracer's instrumentation scope.
pub const SERVICE_NAME: &str = "reqtrack-frontend";

/// The OTLP trace pipeline: shut it down at exit to export what the batch still holds.
#[derive(Debug)]
pub struct OtlpTraces {
    provider: SdkTracerProvider,
}

impl OtlpTraces {
    /// The pipeline to `endpoint` (the full traces URL); an error if the exporter cannot be
    /// built (e.g. a URL it does not accept).
    pub fn new(endpoint: &str) -> Result<Self, String> {
        let exporter = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| format!("cannot build the OTLP exporter for {endpoint}: {e}"))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(SERVICE_NAME).build())
            .build();
        Ok(Self { provider })
    }

    /// The SDK's tracer, as the served models keep it (`ServedModels::with_tracer`).
    pub fn tracer(&self) -> Arc<dyn RequestTracer + Send + Sync> {
        Arc::new(self.provider.tracer(SERVICE_NAME))
    }

    /// Exports what is left and stops the batch processor (blocks until it has).
    pub fn shutdown(&self) -> Result<(), String> {
        self.provider
            .shutdown()
            .map_err(|e| format!("the OTLP export did not shut down cleanly: {e}"))
    }
}
