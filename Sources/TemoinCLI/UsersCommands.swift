import ArgumentParser
import Foundation
import TemoinAPI
import TemoinCore
import TemoinLedger
import TemoinServer

/// `temoin users`: staff accounts, through the running service when there is one (as `enroll`).
struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Comptes du personnel / staff accounts and their roles (Docs/security.md).",
        subcommands: [Add.self, List.self, Revoke.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Crée un compte / create an account; prints its token alone on the last line, once (only its hash "
                + "is kept).")

        @OptionGroup var options: DataOption
        @Option(help: "Rôle / role: caseworker, legal, police or admin.") var role: String
        @Option(help: "Nom / the person's name (unique among active accounts).") var name: String

        func validate() throws {
            guard StaffRole(rawValue: role) != nil else {
                throw ValidationError(
                    "rôle inconnu / unknown role '\(role)': "
                        + StaffRole.allCases.map(\.rawValue).joined(separator: ", ")
                )
            }
        }

        func run() async throws {
            let created: AccountCreatedResponse
            switch try Administration.route(options.directory) {
            case .local(let writer):
                created = try await Accounts(writer: writer, reader: LedgerReader(directory: options.directory))
                    .create(name: name, role: role)
            case .service(let url, let token):
                let data = try await Administration.post(
                    url, "v1/admin/accounts", token: token,
                    json: JSONEncoder().encode(AccountRequest(name: name, role: role)))
                created = try JSONDecoder().decode(AccountCreatedResponse.self, from: data)
            }
            Output.line(
                "Compte créé / account created: \(created.name) (\(created.role)), id \(created.id), "
                    + "entrée/entry \(created.index)")
            Output.line("Jeton, affiché une seule fois / token, shown once:")
            Output.line(created.token)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Liste les comptes / list accounts (never tokens).")

        @OptionGroup var options: DataOption

        func run() async throws {
            let accounts: [AccountView]
            switch try Administration.route(options.directory) {
            case .local:
                accounts = try LedgerReader(directory: options.directory).accounts().map {
                    AccountView(
                        id: $0.id, name: $0.name, role: $0.role.rawValue, createdEntry: $0.createdEntry,
                        revokedEntry: $0.revokedEntry)
                }
            case .service(let url, let token):
                let data = try await Administration.get(url, "v1/admin/accounts", token: token)
                accounts = try JSONDecoder().decode(AccountListResponse.self, from: data).accounts
            }
            Output.line("id\trole\tstatut/status\tnom/name")
            for a in accounts {
                let status = a.revokedEntry.map { "révoqué/revoked (\($0))" } ?? "actif/active"
                Output.line("\(a.id)\t\(a.role)\t\(status)\t\(a.name)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Révoque un compte / revoke an account: its token stops working at once.")

        @OptionGroup var options: DataOption
        @Option(help: "Nom du compte actif / the active account's name.") var name: String

        func run() async throws {
            let revoked: AccountRevokedResponse
            switch try Administration.route(options.directory) {
            case .local(let writer):
                let reader = try LedgerReader(directory: options.directory)
                let wanted = try StaffText.parse(name, field: "name")
                guard let account = try reader.accounts().first(where: { $0.name == wanted && !$0.isRevoked }) else {
                    throw TemoinError(.accountUnknown, "there is no active account named '\(wanted)'")
                }
                revoked = try await Accounts(writer: writer, reader: reader).revoke(account)
            case .service(let url, let token):
                let data = try await Administration.post(
                    url, "v1/admin/accounts/revoke", token: token,
                    json: JSONEncoder().encode(AccountRevokeRequest(name: name)))
                revoked = try JSONDecoder().decode(AccountRevokedResponse.self, from: data)
            }
            Output.line("Compte révoqué / account revoked: \(revoked.name), entrée/entry \(revoked.index)")
        }
    }
}
