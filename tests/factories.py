import factory
from django.contrib.auth import get_user_model

from coding import models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Project

    name = factory.Sequence(lambda n: f"Prosjekt {n}")


class CodebookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Codebook

    project = factory.SubFactory(ProjectFactory)
    name = "Kodebok"


class CodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Code

    codebook = factory.SubFactory(CodebookFactory)
    name = factory.Sequence(lambda n: f"Kode {n}")
    color = "#1f77b4"


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Case

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Kommune {n}")
    kind = models.CaseKind.CASE_STUDY


class InformantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Informant

    case = factory.SubFactory(CaseFactory)
    pseudonym = factory.Sequence(lambda n: f"Informant {n}")
    role_title = "Leder for boligtjenesten"
    level = models.Level.OPERATIVE


class TranscriptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Transcript

    case = factory.SubFactory(CaseFactory)
    title = factory.Sequence(lambda n: f"Intervju {n}")
    text = "I: Hvordan jobber dere?\n\nIP: Vi samarbeider tett med NAV om boliger."
    word_count = 10
