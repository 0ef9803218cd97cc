//! Fuzz bodies for the parsers of untrusted bytes in this crate. The targets in
//! `fuzz/fuzz_targets/` call these, and the unit tests replay `fuzz/corpus/TARGET/`
//! through them.

use std::cell::RefCell;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vantage_command::HttpUrl;
use vantage_model::HttpStop;

use crate::dns::{self, DnsRequest};
use crate::http::{self, HttpRequest};
use crate::httprec::{self, MAX_BUF};

/// Decodes `data` as a DNS response and records it the way `host` does: never panics, and
/// what it reports is consistent with the bytes.
pub fn app_dns_response(data: &[u8]) {
    let r = dns::decode_response(data);
    match r.header {
        None => assert!(data.len() < 12),
        Some(h) => {
            assert!(r.questions.len() <= usize::from(h.qdcount));
            assert!(r.answers.len() <= usize::from(h.ancount));
            assert!(r.authorities.len() <= usize::from(h.nscount));
            assert!(r.additionals.len() <= usize::from(h.arcount));
            let complete = r.questions.len() == usize::from(h.qdcount)
                && r.answers.len() == usize::from(h.ancount)
                && r.authorities.len() == usize::from(h.nscount)
                && r.additionals.len() == usize::from(h.arcount);
            if !complete {
                assert!(r.error.is_some(), "sections short without an error");
            }
        }
    }
    if let Some(e) = &r.error {
        assert!(e.offset <= data.len());
        let _ = e.to_string();
    }
    for rr in r.answers.iter().chain(&r.authorities).chain(&r.additionals) {
        assert!(rr.rr.rdata.len() <= data.len());
        if let Some(kind) = rr.rr.data.as_ref().map(vantage_model::DnsRrData::kind) {
            assert_eq!(
                Some(kind),
                vantage_model::rr_data_kind(rr.rr.class, rr.rr.rtype)
            );
        }
    }
    let _ = r.extended_rcode();
    let _ = r.nsid();
    // The host measurement's view of it (id checks, question checks).
    let req = DnsRequest::new([192, 0, 2, 53].into(), "www.example.test", dns::rtype::A);
    let _ = crate::host::fuzz_record(&req, data);
}

thread_local! {
    static RT: RefCell<Option<tokio::runtime::Runtime>> = const { RefCell::new(None) };
}

/// Feeds `data` as everything an HTTP server sends back (then it closes) through the
/// measurement path over an in-memory stream, and through the header parser. Inputs that
/// start with `PRI` are answered as HTTP/2 (prior knowledge) with the bytes after it, the
/// rest as HTTP/1.1. Never panics or hangs; the result's buffers describe the bytes.
pub fn app_http_response(data: &[u8]) {
    let (h2, data) = match data.strip_prefix(b"PRI") {
        Some(rest) => (true, rest),
        None => (false, data),
    };
    let _ = httprec::head_end(data);
    let _ = httprec::parse_head(data);
    let _ = httprec::status_of(data);
    let Some(url) = HttpUrl::parse("http://www.example.test/index.html") else {
        return;
    };
    let req = HttpRequest {
        dst: [192, 0, 2, 80].into(),
        url,
        headers: Vec::new(),
        max_time: Duration::from_secs(5),
        insecure: false,
        max_body: 100_000,
        alpn: Vec::new(),
        h2_prior_knowledge: false,
        grease: false,
        ech_config_list: None,
        user_id: 0,
    };
    let response = data.to_vec();
    let run = RT.with(|rt| {
        let mut rt = rt.borrow_mut();
        if rt.is_none() {
            *rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok();
        }
        let rt = rt.as_ref()?;
        Some(rt.block_on(async move {
            let (client, mut server) = tokio::io::duplex(1 << 16);
            let srv = tokio::spawn(async move {
                let mut req = [0u8; 4096];
                let _ = server.read(&mut req).await;
                let _ = server.write_all(&response).await;
                let _ = server.shutdown().await;
                // Keep reading so the client never blocks on a full pipe.
                while matches!(server.read(&mut req).await, Ok(n) if n > 0) {}
            });
            let run = http::fetch_over(client, &req, h2, &crate::SystemClock).await;
            srv.abort();
            run
        }))
    });
    let Some(run) = run else { return };
    assert!(matches!(
        run.http.stop_reason,
        HttpStop::Done | HttpStop::Error | HttpStop::Timeout
    ));
    assert!(run.http.bufs.iter().all(|b| b.data.len() <= MAX_BUF));
    let v = httprec::view(&run.http.bufs);
    assert!(
        data.starts_with(&v.head),
        "the recorded header block is what was sent"
    );
    assert!(v.body.len() <= 100_000 + data.len());
    if run.http.stop_reason == HttpStop::Done {
        assert!(run.status.is_some());
    }
}
