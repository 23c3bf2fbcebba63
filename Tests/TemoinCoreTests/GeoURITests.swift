import TemoinCore
import Testing

/// Location fixes are RFC 5870 geo URIs, checked strictly before they are signed into an entry.
struct GeoURITests {
    @Test(arguments: [
        "geo:48.8566,2.3522", "geo:48.8566,2.3522;u=15", "geo:-90,-180", "geo:90,180,35.5", "geo:0,0;crs=wgs84;u=0",
        "GEO:45.764,4.8357;u=30.5", "geo:45,4;u=10;x-source=gps", "geo:45,4;flag", "geo:45,4;note=a%20b",
    ])
    func validFixesAreAccepted(_ text: String) throws {
        let fix = try GeoURI(parsing: text)
        #expect(fix.text == text)
    }

    @Test(arguments: [
        "", "geo:", "48.8,2.3", "geo:91,0", "geo:-90.0001,0", "geo:0,180.5", "geo:0,-181", "geo:a,b", "geo:1,2,3,4",
        "geo:1",
        "geo:1.,2", "geo:.5,2", "geo:+1,2", "geo:1e2,3", "geo:nan,0", "geo:inf,0", "geo:1,2;u=-1", "geo:1,2;u=",
        "geo:1,2;u",
        "geo:1,2;u=1;u=2", "geo:1,2;crs=utm", "geo:1,2;u=5;crs=wgs84", "geo:1,2;x=1;u=5", "geo:1,2;bad name=1",
        "geo:1,2;x=%zz",
        "geo:1,2;x=a\"b", "geo:1,2 ", "geo:1, 2", "geo:1,2;;", "geo:1,2;=3", "geo:1,2;é=1",
        "geo:1,2;x=" + String(repeating: "a", count: 300),
    ])
    func malformedFixesAreRefused(_ text: String) {
        #expect(throws: TemoinError.self) { try GeoURI(parsing: text) }
    }

    @Test func rangesAreThoseOfRFC5870() throws {
        let fix = try GeoURI(parsing: "geo:-33.8688,151.2093,12;u=4")
        #expect(fix.latitude == -33.8688 && fix.longitude == 151.2093 && fix.altitude == 12 && fix.uncertainty == 4)
    }
}
