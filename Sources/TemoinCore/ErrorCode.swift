/// Every error code of Témoin: the stable identifier of a failure, with the category that decides
/// a program's exit code and the HTTP status a request failing with it gets. The raw value is
/// what logs, problem documents (`code`) and tests match on; Docs/api.md lists them.
public enum ErrorCode: String, Sendable, CaseIterable {
    case accountBadRole = "account.bad-role" // usage
    case accountExists = "account.exists" // usage
    case accountUnknown = "account.unknown" // usage
    case adminBadOperator = "admin.bad-operator" // usage
    case adminHTTPFailed = "admin.http-failed" // environment
    case adminNoService = "admin.no-service" // environment
    case adminUnauthorized = "admin.unauthorized" // usage
    case alertBadID = "alert.bad-id" // usage
    case alertConflict = "alert.conflict" // usage
    case alertErased = "alert.erased" // usage
    case alertOnHold = "alert.on-hold" // usage
    case alertUnknown = "alert.unknown" // usage
    case audioAlreadyStored = "audio.already-stored" // usage
    case audioBadChannels = "audio.bad-channels" // unusableInput
    case audioBadRate = "audio.bad-rate" // unusableInput
    case audioEmpty = "audio.empty" // unusableInput
    case audioPartialFrame = "audio.partial-frame" // unusableInput
    case audioTooLarge = "audio.too-large" // unusableInput
    case audioTooLong = "audio.too-long" // unusableInput
    case audioUnknownFormat = "audio.unknown-format" // unusableInput
    case audioUnsupportedMedia = "audio.unsupported-media" // usage
    case backupCorrupt = "backup.corrupt" // unusableInput
    case backupExists = "backup.exists" // usage
    case backupFailed = "backup.failed" // environment
    case backupTargetNotEmpty = "backup.target-not-empty" // usage
    case benchBadRestart = "bench.bad-restart" // usage
    case benchInvalid = "bench.invalid" // invalidEvidence
    case benchNoService = "bench.no-service" // environment
    case benchRefused = "bench.refused" // environment
    case benchTmp = "bench.tmp" // environment
    case blobBadAlert = "blob.bad-alert" // unusableInput
    case blobCorrupt = "blob.corrupt" // invalidEvidence
    case blobMismatch = "blob.mismatch" // invalidEvidence
    case blobNoKey = "blob.no-key" // invalidEvidence
    case blobTooLarge = "blob.too-large" // unusableInput
    case checkpointBadRoot = "checkpoint.bad-root" // unusableInput
    case checkpointBadSize = "checkpoint.bad-size" // unusableInput
    case checkpointEmptyExtension = "checkpoint.empty-extension" // unusableInput
    case checkpointEmptyOrigin = "checkpoint.empty-origin" // unusableInput
    case checkpointNoFinalNewline = "checkpoint.no-final-newline" // unusableInput
    case checkpointNotCanonical = "checkpoint.not-canonical" // unusableInput
    case checkpointTooShort = "checkpoint.too-short" // unusableInput
    case checkpointWrongOrigin = "checkpoint.wrong-origin" // invalidEvidence
    case chunkBadHeader = "chunk.bad-header" // usage
    case chunkBadSeq = "chunk.bad-seq" // usage
    case chunkMissingHeader = "chunk.missing-header" // usage
    case chunkTooManyConflicts = "chunk.too-many-conflicts" // usage
    case consistencyMalformed = "consistency.malformed" // unusableInput
    case contactUnknown = "contact.unknown" // usage
    case contactsInvalidName = "contacts.invalid-name" // usage
    case contactsInvalidPhone = "contacts.invalid-phone" // usage
    case contactsTooMany = "contacts.too-many" // usage
    case dataNotInitialized = "data.not-initialized" // usage
    case deviceAlreadyRevoked = "device.already-revoked" // usage
    case deviceBadUrl = "device.bad-url" // usage
    case deviceGaveUp = "device.gave-up" // environment
    case deviceNoKey = "device.no-key" // usage
    case deviceNoWav = "device.no-wav" // usage
    case deviceReceipts = "device.receipts" // usage
    case deviceRevoked = "device.revoked" // usage
    case deviceUnknown = "device.unknown" // usage
    case enrollBadKey = "enroll.bad-key" // usage
    case entryBadKind = "entry.bad-kind" // unusableInput
    case entryBadValue = "entry.bad-value" // unusableInput
    case entryBadVersion = "entry.bad-version" // unusableInput
    case entryDuplicateField = "entry.duplicate-field" // unusableInput
    case entryFieldCount = "entry.field-count" // unusableInput
    case entryFieldOrder = "entry.field-order" // unusableInput
    case entryMissingField = "entry.missing-field" // unusableInput
    case entryNoFinalNewline = "entry.no-final-newline" // unusableInput
    case entryNotCanonical = "entry.not-canonical" // unusableInput
    case entryNotUtf8 = "entry.not-utf8" // unusableInput
    case entryTooLarge = "entry.too-large" // unusableInput
    case entryUnknownField = "entry.unknown-field" // unusableInput
    case eraseAlertOpen = "erase.alert-open" // usage
    case exportBadEntry = "export.bad-entry" // invalidEvidence
    case exportBadReference = "export.bad-reference" // usage
    case exportBadRequester = "export.bad-requester" // usage
    case exportExists = "export.exists" // usage
    case exportNoEnrollment = "export.no-enrollment" // invalidEvidence
    case exportServiceRunning = "export.service-running" // usage
    case fanoutOutboxState = "fanout.outbox-state" // usage
    case fsDiskFull = "fs.disk-full" // environment
    case fsError = "fs.error" // environment
    case fsExists = "fs.exists" // environment
    case fsIoError = "fs.io-error" // environment
    case fsNotFound = "fs.not-found" // environment
    case fsPermission = "fs.permission" // environment
    case fsTooLarge = "fs.too-large" // unusableInput
    case fuzzTmp = "fuzz.tmp" // environment
    case holdAlreadyPlaced = "hold.already-placed" // usage
    case holdNotPlaced = "hold.not-placed" // usage
    case httpError = "http.error" // usage
    case httpMalformed = "http.malformed" // usage
    case httpMethodNotAllowed = "http.method-not-allowed" // usage
    case httpNotFound = "http.not-found" // usage
    case httpTooLarge = "http.too-large" // usage
    case initBadOrigin = "init.bad-origin" // usage
    case initFailed = "init.failed" // environment
    case initNotAFolder = "init.not-a-folder" // usage
    case initNotEmpty = "init.not-empty" // usage
    case inputNotAFile = "input.not-a-file" // usage
    case inputNotFound = "input.not-found" // usage
    case inputTooLarge = "input.too-large" // unusableInput
    case inputUnreadable = "input.unreadable" // usage
    case internalFailure = "internal" // invalidEvidence
    case jsonInvalid = "json.invalid" // usage
    case keyBadSeed = "key.bad-seed" // unusableInput
    case keyWrongCurve = "key.wrong-curve" // unusableInput
    case keyWrongType = "key.wrong-type" // unusableInput
    case keygenExists = "keygen.exists" // usage
    case keygenUnwritable = "keygen.unwritable" // usage
    case keysBadSymmetricKey = "keys.bad-symmetric-key" // environment
    case keysExpired = "keys.expired" // usage
    case keysLogKeyReused = "keys.log-key-reused" // usage
    case keysMismatch = "keys.mismatch" // usage
    case keysNoMasterKey = "keys.no-master-key" // usage
    case keysNoSignatureUsage = "keys.no-signature-usage" // usage
    case keysNotYetValid = "keys.not-yet-valid" // usage
    case keysServiceRunning = "keys.service-running" // usage
    case keysTooOpen = "keys.too-open" // environment
    case keysUnsafeKeepOld = "keys.unsafe-keep-old" // usage
    case keysUnwrapFailed = "keys.unwrap-failed" // environment
    case keysWrongMasterKey = "keys.wrong-master-key" // usage
    case ledgerAlertAlreadyOpen = "ledger.alert-already-open" // usage
    case ledgerAlertNotOpen = "ledger.alert-not-open" // usage
    case ledgerBadSizes = "ledger.bad-sizes" // usage
    case ledgerCheckpointFileMissing = "ledger.checkpoint-file-missing" // invalidEvidence
    case ledgerCorrupt = "ledger.corrupt" // invalidEvidence
    case ledgerDatabaseBehind = "ledger.database-behind" // invalidEvidence
    case ledgerDatabaseForked = "ledger.database-forked" // invalidEvidence
    case ledgerDeviceAlreadyEnrolled = "ledger.device-already-enrolled" // usage
    case ledgerGenesisAgain = "ledger.genesis-again" // usage
    case ledgerLocked = "ledger.locked" // environment
    case ledgerNoCheckpoint = "ledger.no-checkpoint" // environment
    case ledgerNoSuchCheckpoint = "ledger.no-such-checkpoint" // usage
    case ledgerNoSuchEntry = "ledger.no-such-entry" // usage
    case ledgerNotEmpty = "ledger.not-empty" // usage
    case ledgerRootCheckFailed = "ledger.root-check-failed" // invalidEvidence
    case ledgerRootMismatch = "ledger.root-mismatch" // invalidEvidence
    case ledgerRotationNotCosigned = "ledger.rotation-not-cosigned" // invalidEvidence
    case ledgerSchema = "ledger.schema" // environment
    case ledgerSchemaTooNew = "ledger.schema-too-new" // environment
    case ledgerSizeMismatch = "ledger.size-mismatch" // invalidEvidence
    case ledgerUnknownDevice = "ledger.unknown-device" // usage
    case ledgerUnsafeSettings = "ledger.unsafe-settings" // environment
    case ledgerWrongLogKey = "ledger.wrong-log-key" // invalidEvidence
    case linkAlreadyRevoked = "link.already-revoked" // usage
    case linkExpired = "link.expired" // usage
    case linkUnknown = "link.unknown" // usage
    case locationBadFix = "location.bad-fix" // usage
    case logForked = "log.forked" // invalidEvidence
    case merkleEmptyFirstTree = "merkle.empty-first-tree" // invalidEvidence
    case merkleIndexOutOfRange = "merkle.index-out-of-range" // invalidEvidence
    case merkleProofTooLong = "merkle.proof-too-long" // invalidEvidence
    case merkleProofTooShort = "merkle.proof-too-short" // invalidEvidence
    case merkleRootMismatch = "merkle.root-mismatch" // invalidEvidence
    case merkleSizesOutOfOrder = "merkle.sizes-out-of-order" // invalidEvidence
    case noteBadCharacters = "note.bad-characters" // unusableInput
    case noteBadKey = "note.bad-key" // unusableInput
    case noteBadKeyName = "note.bad-key-name" // unusableInput
    case noteBadSignature = "note.bad-signature" // invalidEvidence
    case noteBadSignatureLine = "note.bad-signature-line" // unusableInput
    case noteBadText = "note.bad-text" // unusableInput
    case noteBadVerifierKey = "note.bad-verifier-key" // unusableInput
    case noteKeyIDMismatch = "note.key-id-mismatch" // unusableInput
    case noteNoFinalNewline = "note.no-final-newline" // unusableInput
    case noteNoSignatures = "note.no-signatures" // unusableInput
    case noteNotCanonical = "note.not-canonical" // unusableInput
    case noteTooLarge = "note.too-large" // unusableInput
    case noteTooManySignatures = "note.too-many-signatures" // unusableInput
    case noteUnsigned = "note.unsigned" // invalidEvidence
    case noteUnsupportedKey = "note.unsupported-key" // unusableInput
    case oggBadHead = "ogg.bad-head" // unusableInput
    case oggBadPage = "ogg.bad-page" // unusableInput
    case oggFailure = "ogg.failure" // environment
    case oggGap = "ogg.gap" // invalidEvidence
    case oggNoAudio = "ogg.no-audio" // unusableInput
    case oggNoPages = "ogg.no-pages" // unusableInput
    case oggNotOgg = "ogg.not-ogg" // unusableInput
    case oggPacketTooLarge = "ogg.packet-too-large" // invalidEvidence
    case oggRead = "ogg.read" // environment
    case oggTooManyPackets = "ogg.too-many-packets" // unusableInput
    case oggTwoStreams = "ogg.two-streams" // invalidEvidence
    case opensslFailure = "openssl.failure" // environment
    case opusBadBitrate = "opus.bad-bitrate" // usage
    case opusBadCodec = "opus.bad-codec" // unusableInput
    case opusBadComplexity = "opus.bad-complexity" // usage
    case opusBadPacket = "opus.bad-packet" // unusableInput
    case opusBadSnapshot = "opus.bad-snapshot" // environment
    case opusBadStream = "opus.bad-stream" // unusableInput
    case opusFailure = "opus.failure" // environment
    case outputUnwritable = "output.unwritable" // usage
    case pemEncrypted = "pem.encrypted" // unusableInput
    case proofBadExtra = "proof.bad-extra" // unusableInput
    case proofBadHash = "proof.bad-hash" // unusableInput
    case proofBadHeader = "proof.bad-header" // unusableInput
    case proofBadIndex = "proof.bad-index" // unusableInput
    case proofNoCheckpoint = "proof.no-checkpoint" // unusableInput
    case proofNotCanonical = "proof.not-canonical" // unusableInput
    case proofTooLarge = "proof.too-large" // unusableInput
    case queryBad = "query.bad" // usage
    case quotaAlertBytes = "quota.alert-bytes" // usage
    case quotaDeviceBytes = "quota.device-bytes" // usage
    case rangeNotSatisfiable = "range.not-satisfiable" // usage
    case rateLimited = "rate.limited" // usage
    case receiptBadFormat = "receipt.bad-format" // unusableInput
    case receiptBadLeaf = "receipt.bad-leaf" // invalidEvidence
    case receiptBadOrigin = "receipt.bad-origin" // unusableInput
    case receiptMismatch = "receipt.mismatch" // invalidEvidence
    case receiptNoFinalNewline = "receipt.no-final-newline" // unusableInput
    case receiptNotCanonical = "receipt.not-canonical" // unusableInput
    case receiptNotCovered = "receipt.not-covered" // invalidEvidence
    case receiptWrongOrigin = "receipt.wrong-origin" // invalidEvidence
    case recordingDiffers = "recording.differs" // invalidEvidence
    case recordingNoAudio = "recording.no-audio" // unusableInput
    case recordingNotAChunk = "recording.not-a-chunk" // unusableInput
    case recordingOpusCount = "recording.opus-count" // invalidEvidence
    case recordingOpusHash = "recording.opus-hash" // invalidEvidence
    case serveBadLimit = "serve.bad-limit" // usage
    case serveBadPort = "serve.bad-port" // usage
    case serveNotLoopback = "serve.not-loopback" // usage
    case smsGatewayConfig = "sms.gateway-config" // usage
    case smsGatewayFailed = "sms.gateway-failed" // environment
    case soxrFailure = "soxr.failure" // environment
    case sqliteBusy = "sqlite.busy" // environment
    case sqliteConstraint = "sqlite.constraint" // environment
    case sqliteCorrupt = "sqlite.corrupt" // invalidEvidence
    case sqliteDiskFull = "sqlite.disk-full" // environment
    case sqliteError = "sqlite.error" // environment
    case sqliteIoError = "sqlite.io-error" // environment
    case sqliteOpen = "sqlite.open" // environment
    case sqliteReadOnly = "sqlite.read-only" // environment
    case staffBadText = "staff.bad-text" // usage
    case staffForbidden = "staff.forbidden" // usage
    case staffTooManyFailures = "staff.too-many-failures" // usage
    case staffUnauthorized = "staff.unauthorized" // usage
    case statementAlert = "statement.alert" // unusableInput
    case statementBadKind = "statement.bad-kind" // unusableInput
    case statementBadSignature = "statement.bad-signature" // usage
    case statementBadSignatureEncoding = "statement.bad-signature-encoding" // usage
    case statementSeq = "statement.seq" // unusableInput
    case statementSha256 = "statement.sha256" // unusableInput
    case testStopped = "test.stopped" // environment
    case timeBad = "time.bad" // usage
    case transitionInvalid = "transition.invalid" // invalidEvidence
    case transitionMissing = "transition.missing" // invalidEvidence
    case verifyNoFolder = "verify.no-folder" // usage
    case verifyNoInput = "verify.no-input" // usage
    case verifyNotABundle = "verify.not-a-bundle" // usage
    case wavBadFormat = "wav.bad-format" // unusableInput
    case wavDataBeforeFormat = "wav.data-before-format" // unusableInput
    case wavNoData = "wav.no-data" // unusableInput
    case wavNoFormat = "wav.no-format" // unusableInput
    case wavNotWav = "wav.not-wav" // unusableInput
    case wavTruncated = "wav.truncated" // unusableInput
    case wavTwoFormats = "wav.two-formats" // unusableInput
    case wavUnsupported = "wav.unsupported" // unusableInput
    case zipBadData = "zip.bad-data" // invalidEvidence
    case zipBadHeader = "zip.bad-header" // invalidEvidence
    case zipBadName = "zip.bad-name" // invalidEvidence
    case zipChanged = "zip.changed" // environment
    case zipCrcMismatch = "zip.crc-mismatch" // invalidEvidence
    case zipDuplicate = "zip.duplicate" // invalidEvidence
    case zipEncrypted = "zip.encrypted" // unusableInput
    case zipJunk = "zip.junk" // invalidEvidence
    case zipMultiDisk = "zip.multi-disk" // unusableInput
    case zipNotRegular = "zip.not-regular" // invalidEvidence
    case zipNotZip = "zip.not-zip" // unusableInput
    case zipOverlap = "zip.overlap" // invalidEvidence
    case zipRead = "zip.read" // environment
    case zipSizeMismatch = "zip.size-mismatch" // invalidEvidence
    case zipTooLarge = "zip.too-large" // unusableInput
    case zipTooManyEntries = "zip.too-many-entries" // unusableInput
    case zipTopLevel = "zip.top-level" // invalidEvidence
    case zipUnsupportedMethod = "zip.unsupported-method" // unusableInput
    case zipZip64 = "zip.zip64" // unusableInput

    /// The kind of failure this usually is (a thrower may say otherwise for its context).
    public var category: TemoinError.Category {
        switch self {
        case .accountBadRole, .accountExists, .accountUnknown, .adminBadOperator, .adminUnauthorized, .alertBadID,
            .alertConflict, .alertErased, .alertOnHold, .alertUnknown, .audioAlreadyStored, .audioUnsupportedMedia,
            .backupExists, .backupTargetNotEmpty, .benchBadRestart, .chunkBadHeader, .chunkBadSeq, .chunkMissingHeader,
            .chunkTooManyConflicts, .contactUnknown, .contactsInvalidName, .contactsInvalidPhone, .contactsTooMany,
            .dataNotInitialized, .deviceAlreadyRevoked, .deviceBadUrl, .deviceNoKey, .deviceNoWav, .deviceReceipts,
            .deviceRevoked, .deviceUnknown, .enrollBadKey, .eraseAlertOpen, .exportBadReference, .exportBadRequester,
            .exportExists, .exportServiceRunning, .fanoutOutboxState, .holdAlreadyPlaced, .holdNotPlaced, .httpError,
            .httpMalformed, .httpMethodNotAllowed, .httpNotFound, .httpTooLarge, .initBadOrigin, .initNotAFolder,
            .initNotEmpty, .inputNotAFile, .inputNotFound, .inputUnreadable, .jsonInvalid, .keygenExists,
            .keygenUnwritable, .keysExpired, .keysLogKeyReused, .keysMismatch, .keysNoMasterKey, .keysNoSignatureUsage,
            .keysNotYetValid, .keysServiceRunning, .keysUnsafeKeepOld, .keysWrongMasterKey, .ledgerAlertAlreadyOpen,
            .ledgerAlertNotOpen, .ledgerBadSizes, .ledgerDeviceAlreadyEnrolled, .ledgerGenesisAgain,
            .ledgerNoSuchCheckpoint, .ledgerNoSuchEntry, .ledgerNotEmpty, .ledgerUnknownDevice, .linkAlreadyRevoked,
            .linkExpired, .linkUnknown, .locationBadFix, .opusBadBitrate, .opusBadComplexity, .outputUnwritable,
            .queryBad, .quotaAlertBytes, .quotaDeviceBytes, .rangeNotSatisfiable, .rateLimited, .serveBadLimit,
            .serveBadPort, .serveNotLoopback, .smsGatewayConfig, .staffBadText, .staffForbidden, .staffTooManyFailures,
            .staffUnauthorized, .statementBadSignature, .statementBadSignatureEncoding, .timeBad, .verifyNoFolder,
            .verifyNoInput, .verifyNotABundle:
            return .usage
        case .audioBadChannels, .audioBadRate, .audioEmpty, .audioPartialFrame, .audioTooLarge, .audioTooLong,
            .audioUnknownFormat, .backupCorrupt, .blobBadAlert, .blobTooLarge, .checkpointBadRoot, .checkpointBadSize,
            .checkpointEmptyExtension, .checkpointEmptyOrigin, .checkpointNoFinalNewline, .checkpointNotCanonical,
            .checkpointTooShort, .consistencyMalformed, .entryBadKind, .entryBadValue, .entryBadVersion,
            .entryDuplicateField, .entryFieldCount, .entryFieldOrder, .entryMissingField, .entryNoFinalNewline,
            .entryNotCanonical, .entryNotUtf8, .entryTooLarge, .entryUnknownField, .fsTooLarge, .inputTooLarge,
            .keyBadSeed, .keyWrongCurve, .keyWrongType, .noteBadCharacters, .noteBadKey, .noteBadKeyName,
            .noteBadSignatureLine, .noteBadText, .noteBadVerifierKey, .noteKeyIDMismatch, .noteNoFinalNewline,
            .noteNoSignatures, .noteNotCanonical, .noteTooLarge, .noteTooManySignatures, .noteUnsupportedKey,
            .oggBadHead, .oggBadPage, .oggNoAudio, .oggNoPages, .oggNotOgg, .oggTooManyPackets, .opusBadCodec,
            .opusBadPacket, .opusBadStream, .pemEncrypted, .proofBadExtra, .proofBadHash, .proofBadHeader,
            .proofBadIndex, .proofNoCheckpoint, .proofNotCanonical, .proofTooLarge, .receiptBadFormat,
            .receiptBadOrigin, .receiptNoFinalNewline, .receiptNotCanonical, .recordingNoAudio, .recordingNotAChunk,
            .statementAlert, .statementBadKind, .statementSeq, .statementSha256, .wavBadFormat, .wavDataBeforeFormat,
            .wavNoData, .wavNoFormat, .wavNotWav, .wavTruncated, .wavTwoFormats, .wavUnsupported, .zipEncrypted,
            .zipMultiDisk, .zipNotZip, .zipTooLarge, .zipTooManyEntries, .zipUnsupportedMethod, .zipZip64:
            return .unusableInput
        case .benchInvalid, .blobCorrupt, .blobMismatch, .blobNoKey, .checkpointWrongOrigin, .exportBadEntry,
            .exportNoEnrollment, .internalFailure, .ledgerCheckpointFileMissing, .ledgerCorrupt, .ledgerDatabaseBehind,
            .ledgerDatabaseForked, .ledgerRootCheckFailed, .ledgerRootMismatch, .ledgerRotationNotCosigned,
            .ledgerSizeMismatch, .ledgerWrongLogKey, .logForked, .merkleEmptyFirstTree, .merkleIndexOutOfRange,
            .merkleProofTooLong, .merkleProofTooShort, .merkleRootMismatch, .merkleSizesOutOfOrder, .noteBadSignature,
            .noteUnsigned, .oggGap, .oggPacketTooLarge, .oggTwoStreams, .receiptBadLeaf, .receiptMismatch,
            .receiptNotCovered, .receiptWrongOrigin, .recordingDiffers, .recordingOpusCount, .recordingOpusHash,
            .sqliteCorrupt, .transitionInvalid, .transitionMissing, .zipBadData, .zipBadHeader, .zipBadName,
            .zipCrcMismatch, .zipDuplicate, .zipJunk, .zipNotRegular, .zipOverlap, .zipSizeMismatch, .zipTopLevel:
            return .invalidEvidence
        case .adminHTTPFailed, .adminNoService, .backupFailed, .benchNoService, .benchRefused, .benchTmp, .deviceGaveUp,
            .fsDiskFull, .fsError, .fsExists, .fsIoError, .fsNotFound, .fsPermission, .fuzzTmp, .initFailed,
            .keysBadSymmetricKey, .keysTooOpen, .keysUnwrapFailed, .ledgerLocked, .ledgerNoCheckpoint, .ledgerSchema,
            .ledgerSchemaTooNew, .ledgerUnsafeSettings, .oggFailure, .oggRead, .opensslFailure, .opusBadSnapshot,
            .opusFailure, .smsGatewayFailed, .soxrFailure, .sqliteBusy, .sqliteConstraint, .sqliteDiskFull,
            .sqliteError, .sqliteIoError, .sqliteOpen, .sqliteReadOnly, .testStopped, .zipChanged, .zipRead:
            return .environment
        }
    }

    /// The HTTP status this code always gets, whatever the category (404, 409, 413, 429…), if any.
    public var specificHTTPStatus: Int? {
        switch self {
        case .httpError, .httpMalformed, .jsonInvalid:
            return 400
        case .adminUnauthorized, .staffUnauthorized, .statementBadSignature:
            return 401
        case .deviceRevoked, .deviceUnknown, .staffForbidden:
            return 403
        case .accountUnknown, .alertUnknown, .contactUnknown, .httpNotFound, .ledgerAlertNotOpen, .linkUnknown:
            return 404
        case .httpMethodNotAllowed:
            return 405
        case .accountExists, .alertConflict, .alertOnHold, .backupExists, .backupTargetNotEmpty, .contactsTooMany,
            .deviceAlreadyRevoked, .eraseAlertOpen, .fanoutOutboxState, .holdAlreadyPlaced, .holdNotPlaced,
            .ledgerAlertAlreadyOpen, .ledgerDeviceAlreadyEnrolled, .linkAlreadyRevoked:
            return 409
        case .alertErased, .linkExpired:
            return 410
        case .audioTooLarge, .chunkTooManyConflicts, .httpTooLarge, .inputTooLarge, .quotaAlertBytes:
            return 413
        case .audioUnsupportedMedia:
            return 415
        case .rangeNotSatisfiable:
            return 416
        case .quotaDeviceBytes, .rateLimited, .staffTooManyFailures:
            return 429
        case .ledgerLocked, .sqliteBusy:
            return 503
        default:
            return nil
        }
    }

    /// The HTTP status of a request refused with this code and its usual category.
    public var httpStatus: Int { specificHTTPStatus ?? category.httpStatus }
}

extension TemoinError.Category {
    /// 400 a malformed request, 422 content that cannot be used, 503 the machine, 500 damaged evidence.
    public var httpStatus: Int {
        switch self {
        case .usage: return 400
        case .unusableInput: return 422
        case .environment: return 503
        case .invalidEvidence: return 500
        }
    }
}
