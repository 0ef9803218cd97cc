//! `tokio_util::codec` adapters (feature `tokio-codec`) over the sans-IO decoders,
//! for daemons that use `Framed` streams. Each decoder moves the bytes it is
//! given into the underlying streaming decoder, so `decode_eof` reports a stream
//! that ends inside a frame.

use crate::control::{
    self, ClientDecoder, DataHeader, Format, Received, Rejection, Reply, Request, ServerParser,
    TaskId,
};
use crate::mux::{self, MuxChannelId, MuxControl, MuxDecoder, MuxEvent};
use crate::remote::{self, Frame, FrameDecoder};
use thiserror::Error;
use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

/// Errors of the codec adapters.
#[derive(Debug, Error)]
pub enum CodecError {
    /// The underlying I/O failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Remote-protocol error.
    #[error(transparent)]
    Remote(#[from] remote::Error),
    /// Mux-protocol error.
    #[error(transparent)]
    Mux(#[from] mux::Error),
    /// Control-protocol error.
    #[error(transparent)]
    Control(#[from] control::Error),
    /// The stream ended inside a frame.
    #[error("connection closed with {0} bytes of an incomplete frame")]
    Truncated(usize),
}

/// Frames of the remote protocol, both directions.
#[derive(Debug, Default)]
pub struct RemoteCodec {
    dec: FrameDecoder,
}

impl Decoder for RemoteCodec {
    type Item = Frame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        if !src.is_empty() {
            self.dec.feed(&src.split());
        }
        Ok(self.dec.poll().transpose()?)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, CodecError> {
        match self.decode(src)? {
            Some(f) => Ok(Some(f)),
            None if self.dec.buffered() > 0 => Err(CodecError::Truncated(self.dec.buffered())),
            None => Ok(None),
        }
    }
}

impl Encoder<Frame> for RemoteCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut v = Vec::with_capacity(remote::HEADER_LEN + frame.payload.len());
        frame.encode_into(&mut v)?;
        dst.extend_from_slice(&v);
        Ok(())
    }
}

/// Something to write on a mux connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MuxOut {
    /// A control message.
    Control(MuxControl),
    /// Bytes for a channel.
    Data(MuxChannelId, Vec<u8>),
}

/// The mux protocol, both directions.
#[derive(Debug, Default)]
pub struct MuxCodec {
    dec: MuxDecoder,
}

impl Decoder for MuxCodec {
    type Item = MuxEvent;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<MuxEvent>, CodecError> {
        if !src.is_empty() {
            self.dec.feed(&src.split());
        }
        Ok(self.dec.poll().transpose()?)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<MuxEvent>, CodecError> {
        match self.decode(src)? {
            Some(e) => Ok(Some(e)),
            None if !self.dec.at_boundary() => Err(CodecError::Truncated(0)),
            None => Ok(None),
        }
    }
}

impl Encoder<MuxOut> for MuxCodec {
    type Error = CodecError;

    fn encode(&mut self, item: MuxOut, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut v = Vec::new();
        match item {
            MuxOut::Control(c) => c.encode_frame(&mut v)?,
            MuxOut::Data(ch, bytes) => mux::encode_data(ch, &bytes, &mut v)?,
        }
        dst.extend_from_slice(&v);
        Ok(())
    }
}

/// A client's side of a control connection: decodes the probe's output, encodes
/// requests. (Matching replies to requests is [`control::ClientSession`]'s job.)
#[derive(Debug)]
pub struct ControlClientCodec {
    dec: ClientDecoder,
    eof_seen: bool,
}

impl ControlClientCodec {
    /// A codec whose `DATA` payloads are in `format`.
    pub fn new(format: Format) -> Self {
        Self {
            dec: ClientDecoder::new(format),
            eof_seen: false,
        }
    }

    /// Changes how later `DATA` payloads are decoded.
    pub fn set_format(&mut self, format: Format) {
        self.dec.set_format(format);
    }
}

impl Decoder for ControlClientCodec {
    type Item = Received;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Received>, CodecError> {
        if !src.is_empty() {
            self.dec.feed(&src.split());
        }
        Ok(self.dec.poll().transpose()?)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Received>, CodecError> {
        if let Some(item) = self.decode(src)? {
            return Ok(Some(item));
        }
        if !self.eof_seen {
            self.eof_seen = true;
            self.dec.feed_eof();
        }
        // The final `Received::Eof` is not returned: end of stream is `None`.
        match self.dec.poll().transpose()? {
            Some(Received::Eof) | None => Ok(None),
            Some(item) => Ok(Some(item)),
        }
    }
}

impl Encoder<Request> for ControlClientCodec {
    type Error = CodecError;

    fn encode(&mut self, req: Request, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(&req.encode()?);
        Ok(())
    }
}

/// Something a probe writes on a control connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlOut {
    /// A text line.
    Reply(Reply),
    /// A warts record, sent as a uuencoded `DATA` object.
    Warts {
        /// Task id, if the record belongs to a task.
        id: Option<TaskId>,
        /// In-progress snapshot?
        inprog: bool,
        /// The record (header included).
        record: Vec<u8>,
    },
    /// A JSON object, sent as a `DATA` object.
    Json {
        /// Task id, if the object belongs to a task.
        id: Option<TaskId>,
        /// In-progress snapshot?
        inprog: bool,
        /// The JSON text (without a trailing newline).
        json: Vec<u8>,
    },
}

/// A probe's side of a control connection: decodes requests (or the `ERR` to
/// answer), encodes replies and `DATA` objects.
#[derive(Debug, Default)]
pub struct ControlServerCodec {
    parser: ServerParser,
}

impl ControlServerCodec {
    /// Wraps a parser (e.g. [`ServerParser::attached`] for a channel).
    pub fn new(parser: ServerParser) -> Self {
        Self { parser }
    }

    /// The parser, e.g. to read its mode or enter FLUSH.
    pub fn parser_mut(&mut self) -> &mut ServerParser {
        &mut self.parser
    }
}

impl Decoder for ControlServerCodec {
    type Item = Result<Request, Rejection>;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        if !src.is_empty() {
            self.parser.feed(&src.split());
        }
        Ok(self.parser.poll())
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, CodecError> {
        if let Some(item) = self.decode(src)? {
            return Ok(Some(item));
        }
        self.parser.feed_eof();
        Ok(None)
    }
}

impl Encoder<ControlOut> for ControlServerCodec {
    type Error = CodecError;

    fn encode(&mut self, item: ControlOut, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut v = Vec::new();
        match item {
            ControlOut::Reply(r) => r.encode_into(&mut v)?,
            ControlOut::Warts { id, inprog, record } => {
                control::encode_warts_data(id, inprog, &record, &mut v)?;
            }
            ControlOut::Json { id, inprog, json } => {
                control::encode_json_data(id, inprog, &json, &mut v)?;
            }
        }
        dst.extend_from_slice(&v);
        Ok(())
    }
}

/// The header a [`ControlOut`] object will carry (for logging).
pub fn data_header(item: &ControlOut) -> Option<DataHeader> {
    match item {
        ControlOut::Reply(_) => None,
        ControlOut::Warts { id, inprog, record } => Some(DataHeader {
            len: control::uu::encoded_len(record.len()),
            id: *id,
            inprog: *inprog,
        }),
        ControlOut::Json { id, inprog, json } => Some(DataHeader {
            len: json.len() + 1,
            id: *id,
            inprog: *inprog,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::{GetItem, OkReply};
    use crate::remote::{ChannelId, Seq};

    fn drain<D: Decoder>(codec: &mut D, input: &[u8]) -> Result<Vec<D::Item>, D::Error> {
        let mut out = Vec::new();
        let mut buf = BytesMut::new();
        for b in input {
            buf.extend_from_slice(&[*b]);
            while let Some(item) = codec.decode(&mut buf)? {
                out.push(item);
            }
        }
        while let Some(item) = codec.decode_eof(&mut buf)? {
            out.push(item);
        }
        Ok(out)
    }

    #[test]
    fn remote_codec_round_trip_and_truncation() {
        let f = Frame {
            seq: Seq(3),
            channel: ChannelId(1),
            payload: b"MORE\n".to_vec(),
        };
        let mut buf = BytesMut::new();
        RemoteCodec::default().encode(f.clone(), &mut buf).unwrap();
        let bytes = buf.to_vec();
        assert_eq!(drain(&mut RemoteCodec::default(), &bytes).unwrap(), vec![f]);
        assert!(matches!(
            drain(&mut RemoteCodec::default(), &bytes[..7]),
            Err(CodecError::Truncated(7))
        ));
    }

    #[test]
    fn mux_codec() {
        let mut buf = BytesMut::new();
        let mut c = MuxCodec::default();
        c.encode(MuxOut::Control(MuxControl::Go), &mut buf).unwrap();
        c.encode(MuxOut::Data(MuxChannelId(2), b"MORE\n".to_vec()), &mut buf)
            .unwrap();
        let got = drain(&mut MuxCodec::default(), &buf).unwrap();
        assert_eq!(got[0], MuxEvent::Control(MuxControl::Go));
        assert_eq!(got.len(), 6, "data arrives byte by byte here");
        assert!(drain(&mut MuxCodec::default(), &buf[..9]).is_err());
    }

    #[test]
    fn control_codecs() {
        let mut buf = BytesMut::new();
        let mut client = ControlClientCodec::new(Format::Warts);
        client
            .encode(Request::Get(GetItem::Version), &mut buf)
            .unwrap();
        let reqs = drain(&mut ControlServerCodec::default(), &buf).unwrap();
        assert_eq!(reqs, vec![Ok(Request::Get(GetItem::Version))]);

        let mut out = BytesMut::new();
        let mut server = ControlServerCodec::default();
        server
            .encode(ControlOut::Reply(Reply::Ok(OkReply::Plain)), &mut out)
            .unwrap();
        let item = ControlOut::Warts {
            id: None,
            inprog: false,
            record: vec![1, 2, 3, 4],
        };
        assert_eq!(data_header(&item).map(|h| h.len), Some(12));
        server.encode(item, &mut out).unwrap();
        let got = drain(&mut ControlClientCodec::new(Format::Warts), &out).unwrap();
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[1], Received::Data(d) if d.payload == [1, 2, 3, 4]));
        assert!(
            drain(
                &mut ControlClientCodec::new(Format::Warts),
                &out[..out.len() - 1]
            )
            .is_err()
        );
    }
}
