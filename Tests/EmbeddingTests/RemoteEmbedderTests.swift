import Foundation
import Testing
@testable import Embedding

/// Runs `RemoteEmbedder` against a real HTTP server on 127.0.0.1: a tiny Python `http.server`
/// speaking the OpenAI `/v1/embeddings` shape (python3 is part of the toolchain image; setup needs it).
@Suite("RemoteEmbedder", .serialized)
struct RemoteEmbedderTests {
    static let key = "sk-test-not-a-real-key"

    /// Embedding for text t at request position i: [len(t), 1, i] (not normalised: the client must do it).
    /// Answers in reverse order (the client must sort by index); 401 on a wrong key; 500 on "boom";
    /// 2-d vectors for "short"; 3 s late for "slow".
    static let serverScript = #"""
    import json, os, signal, sys, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    # Dispatch threads block signals and children inherit the mask: unblock SIGTERM, and also exit
    # when the test closes our stdin (or dies), so no server outlives its test.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    KEY = sys.argv[1]
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a): pass
        def reply(self, code, obj):
            b = json.dumps(obj).encode()
            self.send_response(code); self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != "/v1/embeddings": return self.reply(404, {"error": "no route " + self.path})
            if self.headers.get("Authorization") != "Bearer " + KEY: return self.reply(401, {"error": "bad key"})
            texts = body["input"]
            if "boom" in texts: return self.reply(500, {"error": "exploded"})
            if "slow" in texts: time.sleep(3)
            data = [{"object": "embedding", "index": i,
                     "embedding": [float(len(t)), 1.0] if t == "short" else [float(len(t)), 1.0, float(i)]}
                    for i, t in enumerate(texts)]
            self.reply(200, {"object": "list", "model": body["model"], "data": data[::-1]})
    s = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(s.server_address[1], flush=True)
    s.serve_forever()
    """#

    final class Server {
        let process = Process()
        let input = Pipe()
        let port: Int

        init() throws {
            let script = FileManager.default.temporaryDirectory
                .appendingPathComponent("switchyard-embeddings-server-\(ProcessInfo.processInfo.processIdentifier).py")
            try RemoteEmbedderTests.serverScript.write(to: script, atomically: true, encoding: .utf8)
            let out = Pipe()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path, RemoteEmbedderTests.key]
            process.standardOutput = out
            process.standardInput = input
            try process.run()
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line.append(chunk)
            }
            guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                process.terminate()
                throw EmbeddingError.remote("test server did not start (is python3 installed?)")
            }
            self.port = port
        }

        var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/v1")! }

        deinit {
            // Closing stdin ends the server; no waitUntilExit (it can hang in an async context).
            try? input.fileHandleForWriting.close()
            process.terminate()
        }
    }

    static func configuration(_ server: Server, dimension: Int = 3, batch: Int = 128) -> RemoteEmbedder.Configuration {
        .init(baseURL: server.baseURL, model: "test-embed", dimension: dimension,
              apiKeyEnvironmentVariable: "SWITCHYARD_TEST_EMBED_KEY", maxBatchSize: batch, timeoutSeconds: 10)
    }

    @Test("embeds over real HTTP: order by index, batching, normalisation, bearer key")
    func roundTrip() throws {
        let server = try Server()
        let embedder = try RemoteEmbedder(configuration: Self.configuration(server, batch: 2),
                                          environment: ["SWITCHYARD_TEST_EMBED_KEY": Self.key])
        #expect(embedder.name == "remote-test-embed")
        let texts = ["a", "bbbb", "cc", "ddddddd", "e"]
        let vectors = try embedder.embed(texts)
        #expect(vectors.count == 5)
        for (text, (offset, v)) in zip(texts, vectors.enumerated()) {
            let indexInBatch = Float(offset % 2)
            let raw: [Float] = [Float(text.count), 1, indexInBatch]
            let norm = raw.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for (x, y) in zip(v, raw.map { $0 / norm }) { #expect(abs(x - y) < 1e-6) }
        }
    }

    @Test("HTTP errors, wrong keys and wrong dimensions become clear errors without the key")
    func failures() throws {
        let server = try Server()
        let wrongKey = try RemoteEmbedder(configuration: Self.configuration(server),
                                          environment: ["SWITCHYARD_TEST_EMBED_KEY": "sk-wrong-secret"])
        #expect {
            _ = try wrongKey.embed(["x"])
        } throws: { error in
            let message = "\(error)"
            return message.contains("401") && message.contains("SWITCHYARD_TEST_EMBED_KEY") && !message.contains("sk-wrong-secret")
        }
        let embedder = try RemoteEmbedder(configuration: Self.configuration(server),
                                          environment: ["SWITCHYARD_TEST_EMBED_KEY": Self.key])
        #expect { _ = try embedder.embed(["ok", "boom"]) } throws: { "\($0)".contains("HTTP 500") }
        #expect { _ = try embedder.embed(["short"]) } throws: { "\($0)".contains("2-d") }
        #expect(try embedder.embed([]).isEmpty)
        var hasty = Self.configuration(server)
        hasty.timeoutSeconds = 0.3
        let impatient = try RemoteEmbedder(configuration: hasty, environment: ["SWITCHYARD_TEST_EMBED_KEY": Self.key])
        #expect { _ = try impatient.embed(["slow"]) } throws: { "\($0)".contains("no answer within") }
    }

    @Test("a server that is not there, and a key variable that is not set, say what to do")
    func unreachableAndUnset() throws {
        #expect {
            _ = try RemoteEmbedder(configuration: .init(baseURL: URL(fileURLWithPath: "/"), model: "m", dimension: 3,
                                                        apiKeyEnvironmentVariable: "SWITCHYARD_UNSET_VAR"),
                                   environment: [:])
        } throws: { "\($0)".contains("SWITCHYARD_UNSET_VAR") }
        // Port 9 (discard) on loopback: nothing listens there in CI.
        let embedder = try RemoteEmbedder(
            configuration: .init(baseURL: URL(string: "http://127.0.0.1:9/v1")!, model: "m", dimension: 3, timeoutSeconds: 5))
        #expect { _ = try embedder.embed(["x"]) } throws: { "\($0)".contains("is the server running") }
    }
}
