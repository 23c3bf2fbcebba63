import ArgumentParser
import Foundation
import TemoinAPI
import TemoinCore
import TemoinLedger
import TemoinServer

/// `temoin contacts`: a device's trusted contacts, texted when its alert opens (at most five), and
/// the name they know the person by; through the running service when there is one (as `enroll`),
/// else directly. Changes are `contacts.changed` entries naming the operator (role `operator`);
/// names and numbers stay sealed outside the ledger.
struct Contacts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Personnes de confiance d'un téléphone / a device's trusted contacts (at most five), texted when its "
            + "alert opens.",
        subcommands: [Add.self, List.self, Remove.self, Person.self])

    struct DeviceOptions: ParsableArguments {
        @OptionGroup var data: DataOption
        @Option(help: "Téléphone / device id (32 hex digits).") var device: String
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ajoute une personne en fin de liste / add a contact at the end of the list.")

        @OptionGroup var options: DeviceOptions
        @Option(help: "Nom / the contact's name, as the text will greet them (1 to 64 characters).")
        var name: String
        @Option(help: "Numéro / number: +33612345678 (E.164), or a French number 06 12 34 56 78.")
        var phone: String

        func run() async throws {
            let device = try ContactOperations.device(options.device)
            let request = ContactRequest(name: name, phone: phone)
            let added: ContactAddedResponse = try await ContactsRoute.run(
                options.data, local: { try await $0.add(device, request) },
                service: { url, token in
                    try await Administration.post(
                        url, "v1/admin/devices/\(device)/contacts", token: token,
                        json: JSONEncoder().encode(request), headers: ContactsRoute.operatorHeader)
                })
            let masked = PhoneNumber(added.contact.phone)?.masked ?? "?"
            Output.line(
                "Personne ajoutée / contact added: position \(added.contact.position), \(masked), "
                    + "entrée/entry \(added.index)")
            Output.line(added.contact.id)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Liste les personnes / list the contacts, in order.",
            discussion:
                "Shows each contact's position, id, name and FULL number to the operator: they are third parties' "
                + "personal data. The listing is recorded in the ledger (a staff.access entry, action "
                + "list-contacts, role operator) before it is shown.")

        @OptionGroup var options: DeviceOptions

        func run() async throws {
            let device = try ContactOperations.device(options.device)
            let listed: ContactListResponse = try await ContactsRoute.run(
                options.data, local: { try await $0.list(device) },
                service: { url, token in
                    try await Administration.get(
                        url, "v1/admin/devices/\(device)/contacts", token: token, headers: ContactsRoute.operatorHeader)
                })
            Output.line("Personne / person: " + (listed.person ?? "—"))
            Output.line("position\tid\tnom/name\tnuméro/number")
            for c in listed.contacts { Output.line("\(c.position)\t\(c.id)\t\(c.name)\t\(c.phone)") }
            if listed.contacts.isEmpty { Output.line("(aucune / none)") }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retire une personne / remove a contact; those after it move up.")

        @OptionGroup var options: DeviceOptions
        @Option(help: "Personne / contact id (32 hex digits, from contacts list).") var contact: String

        func run() async throws {
            let device = try ContactOperations.device(options.device)
            let contact = try ContactOperations.contact(self.contact)
            let changed: ContactsChangedResponse = try await ContactsRoute.run(
                options.data, local: { try await $0.remove(device, contact: contact) },
                service: { url, token in
                    try await Administration.delete(
                        url, "v1/admin/devices/\(device)/contacts/\(contact)", token: token,
                        headers: ContactsRoute.operatorHeader)
                })
            Output.line(
                "Personne retirée / contact removed: \(changed.count) restante(s)/left, "
                    + "entrée/entry \(changed.index)")
        }
    }

    struct Person: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Le nom sous lequel les personnes la connaissent / the name the contacts know the person by, used in "
                + "the text.")

        @OptionGroup var options: DeviceOptions
        @Option(help: "Nom / the name (1 to 64 characters).") var name: String?
        @Flag(help: "Efface le nom / clear the name.") var clear = false

        func validate() throws {
            guard (name != nil) != clear else {
                throw ValidationError("give --name TEXT or --clear, one of them")
            }
        }

        func run() async throws {
            let device = try ContactOperations.device(options.device)
            let request = PersonRequest(person: clear ? nil : name)
            let changed: ContactsChangedResponse = try await ContactsRoute.run(
                options.data, local: { try await $0.setPerson(device, request) },
                service: { url, token in
                    try await Administration.put(
                        url, "v1/admin/devices/\(device)/contacts/person", token: token,
                        json: JSONEncoder().encode(request), headers: ContactsRoute.operatorHeader)
                })
            Output.line(
                (clear ? "Nom effacé / name cleared" : "Nom enregistré / name set")
                    + ": entrée/entry \(changed.index)")
        }
    }
}

/// `temoin links revoke`: closes a contact's live-location link to an alert.
struct Links: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Liens de suivi envoyés aux personnes / the live-location links texted to contacts.",
        subcommands: [Revoke.self])

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Ferme le lien d'une personne / close a contact's link to an alert at once (a link.revoked entry "
                + "naming the operator).")

        @OptionGroup var options: DataOption
        @Option(help: "Alerte / alert id (32 hex digits).") var alert: String
        @Option(help: "Personne / contact id (32 hex digits).") var contact: String

        func run() async throws {
            let alert = try DeviceService.parseAlert(self.alert)
            let contact = try ContactOperations.contact(self.contact)
            let revoked: LinkRevokedResponse = try await ContactsRoute.run(
                options, local: { try await $0.revokeLink(alert: alert, contact: contact) },
                service: { url, token in
                    try await Administration.post(
                        url, "v1/admin/alerts/\(alert)/links/\(contact)/revoke", token: token, json: nil,
                        headers: ContactsRoute.operatorHeader)
                })
            Output.line(
                "Lien fermé / link revoked: alerte/alert \(revoked.alert), personne/contact \(revoked.contact), "
                    + "entrée/entry \(revoked.index)")
        }
    }
}

/// One contact or link operation: on this folder's ledger when no service holds it, else through
/// the running service's administration API; both as the local operator.
enum ContactsRoute {
    static var operatorHeader: [String: String] { ["Temoin-Operator": localOperatorID()] }

    static func run<T: Decodable>(
        _ options: DataOption, local: (ContactOperations) async throws -> T,
        service: (URL, String) async throws -> Data
    ) async throws -> T {
        switch try Administration.route(options.directory) {
        case .local(let writer):
            return try await local(
                .forOperator(
                    localOperatorID(), writer: writer, reader: try LedgerReader(directory: options.directory)))
        case .service(let url, let token):
            return try JSONDecoder().decode(T.self, from: try await service(url, token))
        }
    }
}
