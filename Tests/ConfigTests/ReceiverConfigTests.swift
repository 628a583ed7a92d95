import Config
import Testing

/// The `receiver:` and `store:` sections.
@Suite struct ReceiverConfigTests {
    @Test func theReceiverIsOnByDefaultOnLoopbackWithTheStoresDefaultLimits() throws {
        let configuration = try ConfigLoader.parse(yaml: ConfigLoaderTests.minimal)
        #expect(configuration.receiver == ProxyConfiguration.Receiver())
        #expect(configuration.receiver?.listen == "127.0.0.1:4318")
        #expect(configuration.receiver?.forward == false)
        #expect(configuration.receiver?.maxBodyBytes == 16 * 1024 * 1024)
        #expect(configuration.store.maxTraces == 2_000)
        #expect(configuration.store.maxBytes == 64 * 1024 * 1024)
        #expect(configuration.store.maxSpansPerTrace == 5_000)
        #expect(configuration.store.settleTime == 10_000)
    }

    @Test func receiverNullDisablesIt() throws {
        #expect(try ConfigLoader.parse(yaml: "receiver: null\n" + ConfigLoaderTests.minimal).receiver == nil)
    }

    @Test func sectionsAreReadWithSizesInUnits() throws {
        let configuration = try ConfigLoader.parse(yaml: """
            receiver: { listen: "0.0.0.0:14318", forward: true, max_body_bytes: 4MiB }
            store: { max_traces: 50, max_bytes: 512KiB, max_spans_per_trace: 100, settle_time: 2s }
            """ + "\n" + ConfigLoaderTests.minimal)
        #expect(configuration.receiver?.listen == "0.0.0.0:14318")
        #expect(configuration.receiver?.forward == true)
        #expect(configuration.receiver?.maxBodyBytes == 4 << 20)
        #expect(configuration.store.maxTraces == 50)
        #expect(configuration.store.maxBytes == 512 << 10)
        #expect(configuration.store.maxSpansPerTrace == 100)
        #expect(configuration.store.settleTime == 2_000)
        #expect(try ConfigLoader.parse(yaml: "store: { max_bytes: 1048576 }\n" + ConfigLoaderTests.minimal).store.maxBytes == 1 << 20)
    }

    @Test func badValuesAreProblemsWithTheirKeyAndLine() {
        do {
            _ = try ConfigLoader.parse(yaml: """
                receiver: { listen: nowhere, forward: perhaps, max_body_bytes: lots, colour: blue }
                store: { max_traces: 0, max_bytes: 10, max_spans_per_trace: many }
                """ + "\n" + ConfigLoaderTests.minimal)
            Issue.record("accepted")
        } catch {
            let text = error.description
            for key in ["receiver.listen (line 1)", "receiver.forward (line 1)", "receiver.max_body_bytes (line 1)",
                        "receiver.colour (line 1)", "store.max_traces (line 2)", "store.max_bytes (line 2)", "store.max_spans_per_trace (line 2)"] {
                #expect(text.contains(key), "missing \(key) in \(text)")
            }
        }
    }
}
